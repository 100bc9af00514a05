// Marks on the terminal the moment React is first resolved (an in-thread module hook, so the mark
// lands in order with what the program itself writes): test/first-frame.test.tsx checks that the
// wizard's first screen comes before it.
import fs from 'node:fs';
import module from 'node:module';

let marked = false;
module.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (!marked && specifier === 'react') {
      marked = true;
      fs.writeSync(1, '[react resolved]');
    }
    return nextResolve(specifier, context);
  },
});
