// Entry of the `icebridge` binary (package.json "bin"); the commands are in src/cli/.
import { main, readStdin, type CliIO } from './cli/main.js';

const io: CliIO = {
  stdout: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  stderr: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  stdin: readStdin,
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    io.stderr(`icebridge: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
