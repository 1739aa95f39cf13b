import { strict as assert } from "assert";
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";
import { fakeTools, run } from "../scripts/fakeCommands";

const SCRIPT = ".github/scripts/install-e2e-tools.sh";
const PINS = ".github/scripts/e2e-tools.sha256";
const pinned = (name: string) => new RegExp(`^readonly ${name}=(\\S+)$`, "m").exec(fs.readFileSync(path.join(ROOT, SCRIPT), "utf8"))?.[1];
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const KIND_VERSION = pinned("KIND_VERSION");
const PULUMI_VERSION = pinned("PULUMI_VERSION");
const kindUrl = (arch: string) => `https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-linux-${arch}`;
const pulumiUrl = (arch: string) => `https://get.pulumi.com/releases/sdk/pulumi-v${PULUMI_VERSION}-linux-${arch}.tar.gz`;

/** The "<sha256>  <url>" lines of a pins file, comments left out. */
function pinLines(text: string): { sha256: string; url: string }[] {
    return text
        .split("\n")
        .filter((l) => l.trim() && !l.startsWith("#"))
        .map((l) => {
            const [sum, url, ...rest] = l.trim().split(/\s+/);
            assert.equal(rest.length, 0, `${PINS}: more than a sum and a URL on "${l}"`);
            return { sha256: sum, url };
        });
}

describe(".github/scripts/install-e2e-tools.sh (with a test double for curl serving a fake release)", () => {
    let dir: string;
    let release: string;
    let checkout: string;
    const KIND = "kind-linux-amd64";
    const PULUMI = `pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz`;

    /** A checkout holding the real script and a pins file with the given lines (the fake release's sums by default). */
    const writePins = (lines: string[]) => fs.writeFileSync(path.join(checkout, PINS), ["# test pins", ...lines, ""].join("\n"));
    const fakePins = () => [`${sha256(path.join(release, KIND))}  ${kindUrl("amd64")}`, `${sha256(path.join(release, PULUMI))}  ${pulumiUrl("x64")}`];
    const install = () => run(SCRIPT, dir, { args: [path.join(dir, "tools")], root: checkout });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "install-e2e-tools-"));
        release = path.join(dir, "release");
        fs.mkdirSync(path.join(release, "pulumi"), { recursive: true });
        // Stand-ins for the published files: a kind "binary" and a Pulumi tarball with a pulumi/ folder.
        fs.writeFileSync(path.join(release, KIND), "#!/bin/sh\necho 'kind test double'\n");
        fs.writeFileSync(path.join(release, "pulumi", "pulumi"), "#!/bin/sh\necho 'pulumi test double'\n", { mode: 0o755 });
        fs.writeFileSync(path.join(release, "pulumi", "pulumi-language-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
        execFileSync("tar", ["-czf", path.join(release, PULUMI), "-C", release, "pulumi"]);
        // The publisher's own checksum lists, which a compromised host would rewrite along with the files.
        fs.writeFileSync(path.join(release, `${KIND}.sha256sum`), `${sha256(path.join(release, KIND))}  ${KIND}\n`);
        fs.writeFileSync(path.join(release, `pulumi-${PULUMI_VERSION}-checksums.txt`), `${sha256(path.join(release, PULUMI))}  ${PULUMI}\n`);
        checkout = path.join(dir, "checkout");
        fs.mkdirSync(path.join(checkout, ".github/scripts"), { recursive: true });
        fs.copyFileSync(path.join(ROOT, SCRIPT), path.join(checkout, SCRIPT));
        writePins(fakePins());
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
        assert.match(KIND_VERSION ?? "", /^v\d+\.\d+\.\d+$/);
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"]);
    });

    it("downloads only the pinned files, never a checksum list, and installs them once they match their pinned sums", () => {
        const r = install();
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const urls = r.calls.filter((c) => c.startsWith("curl")).map((c) => c.split(" ").pop());
        assert.deepEqual(urls, [kindUrl("amd64"), pulumiUrl("x64")]);
        assert.match(r.stdout, new RegExp(`${KIND}: sha256 ${sha256(path.join(release, KIND))} verified`));
        assert.match(r.stdout, new RegExp(`${PULUMI.replace(/\./g, "\\.")}: sha256 ${sha256(path.join(release, PULUMI))} verified`));
        assert.equal(execFileSync(path.join(dir, "tools", "kind"), { encoding: "utf8" }).trim(), "kind test double");
        assert.equal(execFileSync(path.join(dir, "tools", "pulumi"), { encoding: "utf8" }).trim(), "pulumi test double");
        assert.ok(fs.existsSync(path.join(dir, "tools", "pulumi-language-nodejs")));
    });

    it("installs nothing when a download differs from its pinned sum, even if the publisher's list was changed to match", () => {
        fs.appendFileSync(path.join(release, PULUMI), "tampered");
        fs.writeFileSync(path.join(release, `pulumi-${PULUMI_VERSION}-checksums.txt`), `${sha256(path.join(release, PULUMI))}  ${PULUMI}\n`);
        const r = install();
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`${PULUMI.replace(/\./g, "\\.")} does not match its pinned checksum: expected [0-9a-f]{64}, got ${sha256(path.join(release, PULUMI))}\\. Nothing was installed\\.`));
        assert.deepEqual(fs.readdirSync(path.join(dir, "tools")), []);
    });

    it("refuses an architecture whose download has no pinned sum, before downloading anything", () => {
        writePins([fakePins()[0], `${"1".repeat(64)}  ${pulumiUrl("arm64")}`]);
        const r = install();
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`the checksum of ${pulumiUrl("x64").replace(/\./g, "\\.")} is not pinned in .*e2e-tools\\.sha256`));
        assert.doesNotMatch(r.stdout, /kind-linux-amd64 is not pinned/);
        assert.match(r.stdout, /nothing was downloaded or installed\. Add a line '<sha256>  <url>'/);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("curl")), []);
        assert.ok(!fs.existsSync(path.join(dir, "tools")));
    });

    it("takes no sum from a comment or a malformed line", () => {
        const [kind, pulumi] = fakePins();
        writePins([`# ${kind}`, `${kind.slice(0, 63)} ${kindUrl("amd64")}`, pulumi]);
        const r = install();
        assert.equal(r.status, 1);
        assert.match(r.stdout, new RegExp(`the checksum of ${kindUrl("amd64").replace(/\./g, "\\.")} is not pinned`));
    });

    it("picks the files of an arm64 runner", () => {
        fakeTools(dir, { uname: "echo aarch64" });
        writePins([`${"2".repeat(64)}  ${kindUrl("arm64")}`]);
        const r = install();
        assert.equal(r.status, 1);
        assert.doesNotMatch(r.stdout, /kind-linux-arm64 is not pinned/);
        assert.match(r.stdout, new RegExp(`the checksum of ${pulumiUrl("arm64").replace(/\./g, "\\.")} is not pinned`));
    });

    it("names a download that failed", () => {
        fs.rmSync(path.join(release, PULUMI));
        const r = install();
        assert.equal(r.status, 1);
        assert.match(r.stdout, new RegExp(`could not download ${pulumiUrl("x64").replace(/\./g, "\\.")}`));
        assert.deepEqual(fs.readdirSync(path.join(dir, "tools")), []);
    });
});

describe(".github/scripts/e2e-tools.sha256 (the repository's pins)", () => {
    const pins = pinLines(fs.readFileSync(path.join(ROOT, PINS), "utf8"));
    const wanted = [kindUrl("amd64"), kindUrl("arm64"), pulumiUrl("x64"), pulumiUrl("arm64")];

    it("pins kind's published SHA-256 for linux amd64 and arm64", () => {
        const sum = (url: string) => pins.find((p) => p.url === url)?.sha256;
        assert.equal(KIND_VERSION, "v0.29.0", "kind's version changed: pin the new release's sums and update this test");
        assert.equal(sum(kindUrl("amd64")), "c72eda46430f065fb45c5f70e7c957cc9209402ef309294821978677c8fb3284");
        assert.equal(sum(kindUrl("arm64")), "03d45095dbd9cc1689f179a3e5e5da24b77c2d1b257d7645abf1b4174bebcf2a");
    });

    it("holds only well-formed lines for the files the script downloads at its pinned versions, each once", () => {
        for (const p of pins) {
            assert.match(p.sha256, /^[0-9a-f]{64}$/, `${PINS}: "${p.sha256}" for ${p.url} is not a SHA-256`);
            assert.ok(wanted.includes(p.url), `${PINS}: ${p.url} is not a file the script downloads (a leftover of an older version?)`);
        }
        const urls = pins.map((p) => p.url);
        assert.deepEqual(urls.filter((u, i) => urls.indexOf(u) !== i), [], `${PINS}: a URL is pinned twice`);
    });
});
