/**
 * docs/threat-model.md names the tests that hold each setting: every name it quotes must be the
 * start of a real test's title, so that the document cannot point at a test that is gone.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";

function testFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? testFiles(full) : e.name.endsWith(".test.ts") ? [full] : [];
    });
}

describe("docs/threat-model.md", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/threat-model.md"), "utf8");
    const titles = testFiles(path.join(ROOT, "tests")).flatMap((f) =>
        [...fs.readFileSync(f, "utf8").matchAll(/\b(?:it|describe)\(\s*(["'`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2].replace(/\\(.)/g, "$1")),
    );

    it("quotes only tests that exist", () => {
        const quoted = [...doc.matchAll(/tests?: ([^)]*)\)/g)].flatMap((m) => [...m[1].matchAll(/"([^"]+)"/g)].map((q) => q[1]));
        assert.ok(quoted.length >= 8, `only ${quoted.length} tests quoted`);
        const missing = quoted.filter((q) => !titles.some((t) => t.startsWith(q)));
        assert.deepEqual(missing, [], "the threat model quotes tests that do not exist");
    });

    it("is linked from the README", () => {
        assert.match(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"), /\]\(docs\/threat-model\.md\)/);
    });
});
