import './gradients.js';
export const x = 1;
