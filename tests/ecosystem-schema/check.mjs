// Validates the generated ecosystem artifacts against their published schemas.
import { checks, checkFiles, generated } from "./lib.mjs";

let failed = 0;
for (const check of checks()) {
  const files = generated(check);
  if (files.length === 0) {
    console.error(`no generated file under ${check.dir}`);
    failed++;
    continue;
  }
  const problems = checkFiles(check, files);
  for (const p of problems) console.error(p);
  failed += problems.length;
  console.log(`${check.what}: ${files.length} files, ${problems.length} problems`);
}
process.exit(failed ? 1 : 0);
