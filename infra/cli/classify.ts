// Entry point of `npm run classify`; the command itself is in classify-command.ts.
import { runClassify } from './classify-command.ts';

process.exitCode = await runClassify(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
