// The side-effect entry `@skipnet/nn/gradients`: importing it registers the gradients.
import { registerGradients } from './gradients.ts';

registerGradients();
