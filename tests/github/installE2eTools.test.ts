import { strict as assert } from "assert";
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";
import { fakeTools, run } from "../scripts/fakeCommands";

const SCRIPT = ".github/scripts/install-e2e-tools.sh";
const pinned = (name: string) => new RegExp(`^readonly ${name}=(\\S+)$`, "m").exec(fs.readFileSync(path.join(ROOT, SCRIPT), "utf8"))?.[1];
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe(".github/scripts/install-e2e-tools.sh (with a test double for curl serving a fake release)", () => {
    let dir: string;
    let release: string;
    const KIND = "kind-linux-amd64";
    const PULUMI = `pulumi-v${pinned("PULUMI_VERSION")}-linux-x64.tar.gz`;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "install-e2e-tools-"));
        release = path.join(dir, "release");
        fs.mkdirSync(path.join(release, "pulumi"), { recursive: true });
        // Stand-ins for the published files: a kind "binary" and a Pulumi tarball with a pulumi/ folder.
        fs.writeFileSync(path.join(release, KIND), "#!/bin/sh\necho 'kind test double'\n");
        fs.writeFileSync(path.join(release, "pulumi", "pulumi"), "#!/bin/sh\necho 'pulumi test double'\n", { mode: 0o755 });
        fs.writeFileSync(path.join(release, "pulumi", "pulumi-language-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
        execFileSync("tar", ["-czf", path.join(release, PULUMI), "-C", release, "pulumi"]);
        fs.writeFileSync(path.join(release, `${KIND}.sha256sum`), `${sha256(path.join(release, KIND))}  ${KIND}\n`);
        fs.writeFileSync(path.join(release, `pulumi-${pinned("PULUMI_VERSION")}-checksums.txt`), `${"0".repeat(64)}  pulumi-v${pinned("PULUMI_VERSION")}-darwin-x64.tar.gz\n${sha256(path.join(release, PULUMI))}  ${PULUMI}\n`);
        // curl --output FILE URL: answers with the release file of the URL's last segment.
        fakeTools(dir, {
            curl: `out=""; prev=""; for a in "$@"; do [ "$prev" = --output ] && out=$a; prev=$a; done
url="\${@: -1}"; [ -e ${JSON.stringify(release)}/"\${url##*/}" ] || exit 22
cp ${JSON.stringify(release)}/"\${url##*/}" "$out"`,
            uname: `echo x86_64`,
        });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("pins kind and the Pulumi CLI, the CLI at the SDK's version in package.json", () => {
        assert.match(pinned("KIND_VERSION") ?? "", /^v\d+\.\d+\.\d+$/);
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pinned("PULUMI_VERSION"), pkg.dependencies["@pulumi/pulumi"]);
    });

    it("downloads the pinned versions from their publishers and installs them once their checksums match", () => {
        const r = run(SCRIPT, dir, { args: [path.join(dir, "tools")] });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const urls = r.calls.filter((c) => c.startsWith("curl")).map((c) => c.split(" ").pop());
        assert.deepEqual(urls, [
            `https://github.com/kubernetes-sigs/kind/releases/download/${pinned("KIND_VERSION")}/${KIND}`,
            `https://github.com/kubernetes-sigs/kind/releases/download/${pinned("KIND_VERSION")}/${KIND}.sha256sum`,
            `https://get.pulumi.com/releases/sdk/${PULUMI}`,
            `https://get.pulumi.com/releases/sdk/pulumi-${pinned("PULUMI_VERSION")}-checksums.txt`,
        ]);
        assert.match(r.stdout, new RegExp(`${KIND}: sha256 [0-9a-f]{64} verified`));
        assert.match(r.stdout, new RegExp(`${PULUMI.replace(/\./g, "\\.")}: sha256 [0-9a-f]{64} verified`));
        assert.equal(execFileSync(path.join(dir, "tools", "kind"), { encoding: "utf8" }).trim(), "kind test double");
        assert.equal(execFileSync(path.join(dir, "tools", "pulumi"), { encoding: "utf8" }).trim(), "pulumi test double");
        assert.ok(fs.existsSync(path.join(dir, "tools", "pulumi-language-nodejs")));
    });

    it("installs nothing when a download does not match its published checksum", () => {
        fs.appendFileSync(path.join(release, PULUMI), "tampered");
        const r = run(SCRIPT, dir, { args: [path.join(dir, "tools")] });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`${PULUMI.replace(/\./g, "\\.")} does not match its published checksum: expected [0-9a-f]{64}, got [0-9a-f]{64}\\. Nothing was installed\\.`));
        assert.deepEqual(fs.readdirSync(path.join(dir, "tools")), []);
    });

    it("says so when the checksum list has no line for the file (a wrong version or architecture)", () => {
        fs.writeFileSync(path.join(release, `${KIND}.sha256sum`), `${"1".repeat(64)}  kind-darwin-arm64\n`);
        const r = run(SCRIPT, dir, { args: [path.join(dir, "tools")] });
        assert.equal(r.status, 1);
        assert.match(r.stdout, new RegExp(`lists no checksum for ${KIND}: is the version right\\?`));
    });

    it("names a download that failed", () => {
        fs.rmSync(path.join(release, `pulumi-${pinned("PULUMI_VERSION")}-checksums.txt`));
        const r = run(SCRIPT, dir, { args: [path.join(dir, "tools")] });
        assert.equal(r.status, 1);
        assert.match(r.stdout, /could not download https:\/\/get\.pulumi\.com\/releases\/sdk\/pulumi-[\d.]+-checksums\.txt/);
    });
});
