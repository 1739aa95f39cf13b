/** scripts/catalog.ts: the build arguments shell scripts get are the ones the program passes. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { buildArgs, loadCatalog, sourceInfo, sourcePaths, sourceUrl } from "../../catalog";
import { templateFor } from "../../components/streamspaceTemplates";
import { ROOT } from "../harness";

function catalog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts/catalog.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/catalog.ts", () => {
    it("order lists selkies-base before chrome-selkies", () => {
        const names = catalog("order").stdout.trim().split("\n");
        assert.ok(names.indexOf("selkies-base") >= 0 && names.indexOf("selkies-base") < names.indexOf("chrome-selkies"), names.join(", "));
    });

    it("build-args prints exactly the program's build arguments, platform arguments included", () => {
        const r = catalog("build-args", "chrome-selkies", "--platform", "linux/arm64", "--base-image", "localhost/streamspace/selkies-base:local");
        assert.strictEqual(r.status, 0, r.stderr);
        const image = loadCatalog().get("chrome-selkies");
        const expected = buildArgs(image, {
            platform: "linux/arm64",
            baseImage: "localhost/streamspace/selkies-base:local",
            source: sourceInfo(sourcePaths(image)),
            sourceUrl: sourceUrl(),
        });
        assert.deepStrictEqual(r.stdout.trim().split("\n"), Object.entries(expected).map(([k, v]) => `${k}=${v}`));
        assert.ok(r.stdout.includes("\nAPP_INSTALL_ENV=BROWSER=chromium\n"), r.stdout);
        const amd64 = catalog("build-args", "chrome-selkies", "--base-image", "b");
        assert.ok(amd64.stdout.includes("\nAPP_INSTALL_ENV=\n"), amd64.stdout);
    });

    it("build-args --offline takes image.yaml's offline install settings; offline lists how each offline build differs", () => {
        const r = catalog("build-args", "chrome-selkies", "--base-image", "b", "--offline");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(r.stdout.includes("\nAPP_INSTALL_ENV=BROWSER=chromium\n"), r.stdout);
        const facts = catalog("offline");
        assert.strictEqual(facts.status, 0, facts.stderr);
        assert.deepStrictEqual(facts.stdout.trim().split("\n"), [
            "chrome-selkies\tleaves-out\tGoogle Chrome (dl.google.com): Debian's Chromium is installed instead",
            "vscode-selkies\tneeds-internet\tVisual Studio Code comes only from Microsoft's apt repository (packages.microsoft.com)",
        ]);
        assert.strictEqual(catalog("offline", "chrome-selkies").status, 2);
    });

    it("template-env prints the env of the image's StreamSpace Template, and refuses an image without one", () => {
        const r = catalog("template-env", "chrome-selkies");
        assert.strictEqual(r.status, 0, r.stderr);
        const template = templateFor(loadCatalog().get("chrome-selkies"), { baseImage: "x", namespace: "streamspace", sourceUrl: sourceUrl() });
        assert.deepStrictEqual(r.stdout.trim().split("\n"), template.spec.env.map((e) => `${e.name}=${e.value}`));
        assert.ok(r.stdout.includes("SELKIES_ENABLE_BASIC_AUTH=false\n"));
        const base = catalog("template-env", "selkies-base");
        assert.strictEqual(base.status, 2);
        assert.match(base.stderr, /selkies-base is a base image: it has no StreamSpace Template/);
    });

    it("an image on a catalog base needs --base-image, and says so", () => {
        const r = catalog("build-args", "chrome-selkies");
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /pass --base-image/);
    });

    it("context and base name the folder, the Dockerfile and the base", () => {
        assert.strictEqual(catalog("context", "chrome-selkies").stdout, "images/chrome-selkies ../app.Dockerfile\n");
        assert.strictEqual(catalog("context", "chrome-selkies-kasmvnc").stdout, "images/chrome-selkies ../app.kasmvnc.Dockerfile\n");
        assert.strictEqual(catalog("context", "selkies-base").stdout, "images/selkies-base Dockerfile\n");
        assert.strictEqual(catalog("base", "chrome-selkies").stdout, "selkies-base\n");
        assert.match(catalog("base", "selkies-base").stdout, /^external docker\.io\/library\/debian:bookworm-slim@sha256:[a-f0-9]{64}\n$/);
    });

    it("an unknown command or image is a usage error", () => {
        assert.strictEqual(catalog("frobnicate").status, 2);
        const r = catalog("context", "no-such-image");
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /unknown image 'no-such-image'/);
    });
});
