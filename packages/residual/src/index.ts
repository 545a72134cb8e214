export { Residual, type ResidualOptions, type ResidualOrdering } from './residual.ts';
