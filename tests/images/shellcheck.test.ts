/** shellcheck on every shell script of the repository: *.sh files and files with a sh/bash shebang. */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";

function shellScripts(): string[] {
    const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
        .split("\n")
        .filter((f) => f && !f.startsWith("node_modules/") && fs.existsSync(path.join(ROOT, f)));
    return files.filter((f) => {
        if (f.endsWith(".sh")) return true;
        if (/\.(ts|js|json|ya?ml|md|conf|xml|html|pa|txt|Dockerfile)$/.test(f) || path.basename(f) === "Dockerfile") return false;
        const fd = fs.openSync(path.join(ROOT, f), "r");
        const head = Buffer.alloc(64);
        fs.readSync(fd, head, 0, 64, 0);
        fs.closeSync(fd);
        return /^#!\s*\/(usr\/)?bin\/(env\s+)?(ba)?sh\b/.test(head.toString("utf8"));
    });
}

describe("shellcheck", () => {
    const scripts = shellScripts();

    it("finds the image start-up scripts and the repository's tools", () => {
        for (const expected of ["images/selkies-base/rootfs/usr/local/bin/streamspace-init", "images/selkies-base/rootfs/etc/streamspace/init.d/50-encoder", "scripts/test-image.sh"]) {
            assert.ok(scripts.includes(expected), `${expected} is not among the scripts checked`);
        }
    });

    for (const script of scripts) {
        it(`${script} is shellcheck clean`, function () {
            const r = spawnSync("shellcheck", ["-x", "--severity=style", script], { cwd: ROOT, encoding: "utf8" });
            if (r.error) assert.fail(`shellcheck could not run (${r.error.message}); install the Debian package shellcheck (scripts/test.sh does)`);
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        });
    }
});
