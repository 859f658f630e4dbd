/**
 * `node --import ./bench/native-ts.mjs`: runs the benchmark's own .ts children on Node's built-in
 * type stripping, without tsx, so that a gateway child built from dist/ runs as production does.
 * The one thing Node does not do itself: `./x.js` imports that name a `./x.ts` file.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
