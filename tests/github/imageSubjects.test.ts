/**
 * .github/scripts/image-subjects.ts: the images a stack pushed, read from an exported state (what
 * the release's scan and the supply-chain jobs run once per image).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { digestsFromState, imageSubjects } from "../../.github/scripts/image-subjects";
import { ROOT } from "../harness";

const A = "a".repeat(64);
const B = "b".repeat(64);
const PREFIX = "urn:pulumi:prod::streamspace-images::streamspace:images:SessionImage";
/** An exported state as `pulumi stack export` writes it, trimmed to what the script reads. */
const STATE = {
    version: 3,
    deployment: {
        resources: [
            { urn: "urn:pulumi:prod::streamspace-images::pulumi:pulumi:Stack::streamspace-images-prod", type: "pulumi:pulumi:Stack", outputs: {} },
            { urn: `${PREFIX}::selkies-base`, type: "streamspace:images:SessionImage", outputs: {} },
            { urn: `${PREFIX}$docker:index/image:Image::selkies-base`, type: "docker:index/image:Image", outputs: { repoDigest: `ghcr.io/acme/selkies-base@sha256:${A}` } },
            { urn: `${PREFIX}$docker:index/image:Image::chrome-selkies`, type: "docker:index/image:Image", outputs: { repoDigest: `ghcr.io/acme/chrome-selkies@sha256:${B}` } },
            // Built but not pushed: nothing in a registry to scan or attest.
            { urn: `${PREFIX}$docker:index/image:Image::local-only`, type: "docker:index/image:Image", outputs: { repoDigest: "local-only:dev" } },
            // The extra tags of a release point at the same digests: not images of their own.
            { urn: `${PREFIX}$docker:index/tag:Tag::chrome-selkies-latest`, type: "docker:index/tag:Tag", outputs: { sourceImage: `ghcr.io/acme/chrome-selkies@sha256:${B}` } },
        ],
    },
};

describe("image-subjects.ts", () => {
    it("lists every pushed docker.Image of the state by name, with repository, digest and reference", () => {
        assert.deepEqual(imageSubjects(digestsFromState(STATE)), [
            { name: "chrome-selkies", repository: "ghcr.io/acme/chrome-selkies", digest: `sha256:${B}`, ref: `ghcr.io/acme/chrome-selkies@sha256:${B}` },
            { name: "selkies-base", repository: "ghcr.io/acme/selkies-base", digest: `sha256:${A}`, ref: `ghcr.io/acme/selkies-base@sha256:${A}` },
        ]);
        assert.deepEqual(imageSubjects(digestsFromState({})), []);
    });

    it("runs as the workflows run it: a state file in, one JSON line out; no file is a usage error", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "image-subjects-"));
        try {
            const file = path.join(dir, "state.json");
            fs.writeFileSync(file, JSON.stringify(STATE));
            const script = path.join(ROOT, ".github/scripts/image-subjects.ts");
            const run = (...args: string[]) =>
                spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, ...args], { cwd: ROOT, encoding: "utf8" });
            const ok = run(file);
            assert.equal(ok.status, 0, ok.stderr);
            assert.deepEqual(JSON.parse(ok.stdout).map((s: { name: string }) => s.name), ["chrome-selkies", "selkies-base"]);
            assert.equal(ok.stdout.trim().split("\n").length, 1, "GITHUB_OUTPUT takes one line");
            const missing = run();
            assert.equal(missing.status, 2);
            assert.match(missing.stderr, /usage: image-subjects\.ts STATE\.json/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
