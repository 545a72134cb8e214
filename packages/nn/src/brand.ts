/**
 * `instanceof` across copies of this package. Node loads the ESM and the CommonJS build of `@skipnet/nn` as two
 * modules when an application mixes `import` and `require` (or two bundles each carry one), and each copy has its
 * own classes: a `Conv2d` made by one copy is no `instanceof` the other's `Conv2d`, so a walk like
 * `init.xavierInit` in the other copy silently skipped it. Each class that users check therefore carries a brand
 * under a registry symbol (`Symbol.for`, shared by all copies in the realm), and `instanceof` compares brands along
 * the prototype chain, as tfjs-core does for its `Tensor`.
 */
export const BRAND: unique symbol = Symbol.for('@skipnet/nn brand') as never;

type Branded = { [BRAND]?: string };

function ownBrand(type: unknown): string | undefined {
  return typeof type === 'function' && Object.hasOwn(type, BRAND) ? (type as Branded)[BRAND] : undefined;
}

/**
 * What `value instanceof type` answers with brands: true when a class on `value`'s prototype chain has `type`'s
 * brand. A class without its own brand (a user's subclass) is checked the ordinary way.
 */
export function isInstance(type: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  const brand = ownBrand(type);
  if (brand === undefined) return Function.prototype[Symbol.hasInstance].call(type, value);
  if (typeof value !== 'object' || value === null) return false;
  for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'constructor') && ownBrand(proto.constructor) === brand) return true;
  }
  return false;
}
