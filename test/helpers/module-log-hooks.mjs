// Module resolution hook: appends every resolved URL to the file named by CERTWRIGHT_MODULE_LOG.
import fs from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (process.env.CERTWRIGHT_MODULE_LOG) fs.appendFileSync(process.env.CERTWRIGHT_MODULE_LOG, `${result.url}\n`);
  return result;
}
