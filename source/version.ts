// Kept equal to package.json's version by test/version.test.ts; read without touching the disk so
// `certwright --version` costs one tiny module.
export const VERSION = '0.1.0';
