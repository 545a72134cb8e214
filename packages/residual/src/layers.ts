// `@skipnet/residual/layers`: the residual block inside tfjs-layers models. Importing it registers the layer
// class with tf.serialization, so that `tf.loadLayersModel` reads models that hold it.
export { type LayerArgs, ModuleLayer } from './module-layer.ts';
export { ResidualLayer, type ResidualLayerArgs, residualLayer } from './residual-layer.ts';
