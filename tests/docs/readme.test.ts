/**
 * README.md is the front page: short enough to read on a few screens, with the two commands a new
 * user runs and a way to every page under docs/.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";

describe("README.md", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("stays short: at most 220 lines, the rest lives in docs/", () => {
        const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
        assert.ok(lines <= 220, `README.md has ${lines} lines; move a section into docs/ and link it`);
    });

    it("gives the two commands of a fresh clone, each in a code block: deploy the dev stack and run every test", () => {
        const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1].trim());
        assert.ok(blocks.includes("./scripts/deploy-dev.sh"), "no code block with ./scripts/deploy-dev.sh");
        assert.ok(blocks.includes("./scripts/test.sh"), "no code block with ./scripts/test.sh");
        for (const script of ["scripts/deploy-dev.sh", "scripts/test.sh"]) {
            assert.ok(fs.existsSync(path.join(ROOT, script)), `${script} is named in the README but does not exist`);
        }
        assert.match(readme, /file backend/, "the README says where the state goes without a Pulumi login");
    });

    it("links every page under docs/", () => {
        const pages = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
        assert.ok(pages.length >= 9, `only ${pages.length} pages under docs/`);
        const missing = pages.filter((p) => !readme.includes(`](docs/${p})`));
        assert.deepEqual(missing, [], "pages under docs/ that the README does not link");
    });

    it("keeps the generated catalog table", () => {
        assert.match(readme, /<!-- catalog:start -->\n\| Name \| Description \|/);
    });
});
