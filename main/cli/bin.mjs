#!/usr/bin/env node
// The `relink` command installed by `npm link`: loads the TypeScript CLI through tsx, from a checkout.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./relink.ts');
process.exit(await main(process.argv.slice(2)));
