/**
 * streamspace-apt-install, the base's installer, run as a plain process with test doubles of apt,
 * dpkg and the library check on PATH (tests/fixtures/apt/fake-commands.sh): the placeholder
 * package it builds, and the real packages it adds when a new package needs a placeholder's name.
 * The real thing runs in every offline build of selkies-base and its images.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";
import { fakeTools } from "../scripts/fakeCommands";

const SCRIPT = path.join(ROOT, "images/selkies-base/rootfs/usr/local/sbin/streamspace-apt-install");
const PLACEHOLDER_LIST = path.join(ROOT, "images/selkies-base/rootfs/etc/streamspace/apt-placeholders");
const FAKES = path.join(ROOT, "tests/fixtures/apt/fake-commands.sh");
const hasDpkgDeb = spawnSync("dpkg-deb", ["--version"]).status === 0;

class FakeArchive {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "streamspace-apt-"));
    readonly bin = path.join(this.dir, "fake-commands");

    constructor(files: { available: string[]; installed?: string[]; deps?: string[]; list?: string }, uid = 0) {
        fs.mkdirSync(this.bin);
        fs.writeFileSync(path.join(this.dir, "available"), files.available.join("\n") + "\n");
        fs.writeFileSync(path.join(this.dir, "installed"), (files.installed ?? []).map((l) => l + "\n").join(""));
        fs.writeFileSync(path.join(this.dir, "deps"), (files.deps ?? []).map((l) => l + "\n").join(""));
        fs.writeFileSync(path.join(this.dir, "list"), files.list ?? "# test list\nlibavcodec59   FFmpeg\nlibx265-199 H.265\npython3-numpy  NumPy\nlibmissing1 not in this archive\n");
        fakeTools(this.bin, {
            "apt-get": `source "${FAKES}"; fake_apt_get "$@"`,
            "apt-cache": `source "${FAKES}"; fake_apt_cache "$@"`,
            "dpkg-query": `source "${FAKES}"; fake_dpkg_query "$@"`,
            dpkg: `source "${FAKES}"; fake_dpkg "$@"`,
            id: `echo ${uid}`,
            "streamspace-check-libraries": `printf '%s\\n' "$@" >"${this.dir}/checked"`,
        });
    }

    run(...args: string[]) {
        const r = spawnSync("bash", [SCRIPT, ...args], {
            env: { PATH: `${this.bin}:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_APT: this.dir, STREAMSPACE_APT_PLACEHOLDERS: path.join(this.dir, "list") },
            encoding: "utf8",
            timeout: 30000,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    read(file: string): string[] {
        const p = path.join(this.dir, file);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0) : [];
    }

    field(name: string): string {
        return spawnSync("dpkg-deb", ["--field", path.join(this.dir, "placeholder.deb"), name], { encoding: "utf8" }).stdout.trim();
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

describe("streamspace-apt-install", function () {
    this.timeout(30000);
    const archives: FakeArchive[] = [];
    const archive = (...a: ConstructorParameters<typeof FakeArchive>) => {
        const f = new FakeArchive(...a);
        archives.push(f);
        return f;
    };
    after(() => archives.forEach((a) => a.remove()));

    const debian = () =>
        archive({
            available: ["libavcodec59 7:5.1.6-0+deb12u1", "libx265-199 3.5-2+b1", "python3-numpy 1:1.24.2-1", "blender 3.4.1+dfsg-2", "nano 7.2-1", "libc6 2.36-9"],
            installed: ["libc6"],
            deps: ["blender libavcodec59 python3-numpy libc6", "libavcodec59 libx265-199 libc6", "nano libc6"],
        });

    (hasDpkgDeb ? it : it.skip)("--placeholders builds one package providing each listed name at the archive's version", () => {
        const a = debian();
        const r = a.run("--placeholders");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(a.field("Package"), "streamspace-placeholders");
        assert.strictEqual(a.field("Provides"), "libavcodec59 (= 7:5.1.6-0+deb12u1), libx265-199 (= 3.5-2+b1), python3-numpy (= 1:1.24.2-1)");
        assert.match(r.stderr, /no libmissing1 in the archive/);
        assert.match(r.stderr, /in place of 3 packages: libavcodec59 libx265-199 python3-numpy/);
    });

    (hasDpkgDeb ? it : it.skip)("--placeholders leaves out a name that is installed for real", () => {
        const a = archive({ available: ["libavcodec59 1", "python3-numpy 2"], installed: ["python3-numpy"] });
        assert.strictEqual(a.run("--placeholders").status, 0);
        assert.strictEqual(a.field("Provides"), "libavcodec59 (= 1)");
    });

    it("--placeholders stops with a reason when the archive has none of the names", () => {
        const a = archive({ available: ["nano 1"] });
        const r = a.run("--placeholders");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /none of the names in .* is in the archive \(did apt-get update run\?\)/);
    });

    (hasDpkgDeb ? it : it.skip)("installs the real packages a new package needs, following their own needs, then checks them", () => {
        const a = debian();
        assert.strictEqual(a.run("--placeholders").status, 0);
        const r = a.run("blender");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(a.read("apt-get-install-args"), ["blender", "libavcodec59", "python3-numpy", "libx265-199"]);
        assert.match(r.stderr, /the new packages need libavcodec59 python3-numpy: installing the real ones/);
        assert.match(r.stderr, /the new packages need libx265-199/);
        assert.deepStrictEqual(a.read("checked").sort(), ["blender", "libavcodec59", "libx265-199", "python3-numpy"]);
    });

    (hasDpkgDeb ? it : it.skip)("installs exactly what was asked when nothing new needs a placeholder's name", () => {
        const a = debian();
        assert.strictEqual(a.run("--placeholders").status, 0);
        const r = a.run("nano");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(a.read("apt-get-install-args"), ["nano"]);
        assert.doesNotMatch(r.stderr, /installing the real ones/);
    });

    it("stops with apt's own words when apt cannot install the request", () => {
        const a = debian();
        const r = a.run("no-such-package");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /Unable to locate package no-such-package/);
        assert.match(r.stderr, /apt cannot install: no-such-package/);
        assert.deepStrictEqual(a.read("apt-get-install-args"), []);
    });

    it("refuses to run as another user than root, saying how to fix the Dockerfile", () => {
        const a = archive({ available: ["nano 1"] }, 1000);
        const r = a.run("nano");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /run it as root \(USER root in the Dockerfile/);
    });

    it("the base's list names each placeholder once, with its reason", () => {
        const entries = fs
            .readFileSync(PLACEHOLDER_LIST, "utf8")
            .split("\n")
            .map((l) => l.replace(/#.*/, "").trim())
            .filter((l) => l.length > 0);
        const names = entries.map((l) => l.split(/\s+/)[0]);
        assert.ok(names.length >= 10, `only ${names.length} entries`);
        assert.deepStrictEqual(names.filter((n, i) => names.indexOf(n) !== i), [], "duplicate names");
        for (const l of entries) assert.match(l, /^[a-z0-9][a-z0-9.+-]+\s+\S.{10,}/, `no reason given: ${l}`);
    });
});
