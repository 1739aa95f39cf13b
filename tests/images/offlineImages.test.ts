import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadCatalog } from "../../catalog";
import { dockerfileWithScripts } from "../../catalog/dockerfileStandards";
import { STANDARD_PORTS } from "../../catalog/imageStandard";
import { ROOT } from "../harness";

// scripts/offline-images.sh against test doubles of buildah, podman, debootstrap, netpbm and the
// catalog CLI: each logs its arguments to calls.log, keeps what a real one would remember (imported
// images) in a state folder, and fails on request through FAKE_* variables.

const SCRIPT = path.join(ROOT, "scripts", "offline-images.sh");
const CHECKS_LIB = path.join(ROOT, "scripts", "lib", "checks.sh");

const DOUBLES: Record<string, string> = {
    // node -r ts-node/register/transpile-only <root>/scripts/catalog.ts <command> [image] [--base-image ref],
    // and the image kinds (node -e over the catalog module); any other use of node goes to the real one.
    node: `
if [ "$3" = -e ]; then printf '%s\\n' "selkies-base base" "chrome-selkies session" "turn-relay tool"; exit 0; fi
[[ $3 == */scripts/catalog.ts ]] || exec ${JSON.stringify(process.execPath)} "$@"
cmd=$4; image=$5
case $cmd in
  order) printf '%s\\n' selkies-base chrome-selkies turn-relay ;;
  base) if [ "$image" != chrome-selkies ]; then echo "external docker.io/library/debian:bookworm-slim@sha256:3783cc01"; else echo selkies-base; fi ;;
  context) echo "images/$image Dockerfile" ;;
  build-args) echo "BASE_IMAGE=$7"; echo "OCI_TITLE=Title of $image"; if [ "$image" = chrome-selkies ] && [ "$8" = --offline ]; then echo "APP_INSTALL_ENV=BROWSER=chromium"; fi ;;
  offline)
    [ -z "\${FAKE_OFFLINE_FAIL:-}" ] || { echo "catalog: images/chrome-selkies/image.yaml:20: field 'offline': unknown field" >&2; exit 1; }
    if [ -n "\${FAKE_OFFLINE:-}" ]; then printf '%b' "$FAKE_OFFLINE"; else printf 'chrome-selkies\\tleaves-out\\t%s\\n' "Google Chrome (dl.google.com): Debian's Chromium is installed instead"; fi ;;
  template-env) echo "SELKIES_ENABLE_BASIC_AUTH=false" ;;
esac`,
    buildah: `
tag=""; prev=""
for a in "$@"; do [ "$prev" = -t ] && tag=$a; prev=$a; done
name=\${tag##*/}; name=\${name%%:*}
if [ "$1" = build ] && [ "\${FAKE_BUILD_FAIL:-}" = "$name" ]; then echo "STEP 2/9: RUN apt-get update"; echo "Error: writing blob: no space left on device"; exit 1; fi
exit 0`,
    podman: `
state=$HOME/state; mkdir -p "$state"
case "$1 $2" in
  "image inspect")
    format=$4; ref=$5
    case $format in
      *offline-base-key*) cat "$state/key-\${ref//\//_}" 2>/dev/null || exit 125 ;;
      *Digest*) echo "sha256:$(printf %s "\${ref%%:*}" | sha256sum | cut -c1-64)" ;;
      *Size*) echo 734000000 ;;
    esac ;;
  "import "*)
    [ -z "\${FAKE_IMPORT_FAIL:-}" ] || { echo "Error: writing blob: interrupted" >&2; exit 125; }
    key=""; for a in "$@"; do case $a in LABEL*) key=\${a##*=} ;; esac; done
    last=\${*: -1}; echo "$key" > "$state/key-\${last//\//_}" ;;
  "tag "*) cp "$state/key-\${2//\//_}" "$state/key-\${3//\//_}" 2>/dev/null; true ;;
  "history "*) echo '[{"size":90000000,"CreatedBy":"/bin/sh -c #(nop) ADD file"},{"size":512000000,"CreatedBy":"|1 A=b /bin/sh -c apt-get install chromium"}]' ;;
  "run "*) echo 0123456789ab ;;
  "inspect "*)
    case $3 in
      *Healthcheck*) echo yes ;;
      *Status*) echo "\${FAKE_STATUS:-running}" ;;
      *ExitCode*) echo 0 ;;
    esac ;;
  "healthcheck run") exit "\${FAKE_UNHEALTHY:-0}" ;;
  "exec "*) case "$*" in *xwd*) echo XWD-DATA ;; *) printf :0 ;; esac ;;
  "logs "*) echo "supervisord: xvfb exited" ;;
esac
exit 0`,
    debootstrap: `
dir=$3
mkdir -p "$dir/etc/apt" "$dir/usr/share/doc/bash" "$dir/var/lib/apt/lists"
if [ -n "\${FAKE_DEBOOTSTRAP_FAIL:-}" ]; then echo "E: Couldn't download packages: libc6"; exit 1; fi
echo "deb $4 $2 main" > "$dir/etc/apt/sources.list"; echo 'NAME="Debian"' > "$dir/etc/os-release"`,
    runc: "exit 0",
    xwdtopnm: "printf 'P6\\n1280 720\\n255\\n'",
    pnmtopng: "printf 'PNG'",
    ppmhist: "printf '0 0 0\\n1 1 1\\n2 2 2\\n3 3 3\\n'",
    pnmfile: "echo 'stdin: PPM raw, 1280 by 720  maxval 255'",
    id: "echo 0",
    // Records its checks in the shared tally as the real one does. FAKE_TEST_FAIL: one check fails;
    // FAKE_TEST_EXIT: exits with that status after its checks; FAKE_TEST_NO_CHECKS: exits with that
    // status before any check; FAKE_TEST_SUMMARY: the summary line it prints instead of its own.
    "test-image": `
source ${JSON.stringify(CHECKS_LIB)}
checks_begin; CHECKS_PAD=" "
[ -z "\${FAKE_TEST_NO_CHECKS:-}" ] || exit "$FAKE_TEST_NO_CHECKS"
check_pass "non-root"; check_skip "stream: --no-stream"
[ -z "\${FAKE_TEST_FAIL:-}" ] || check_fail "stream (8080): no frames"
if [ -n "\${FAKE_TEST_SUMMARY:-}" ]; then echo "$FAKE_TEST_SUMMARY"; else checks_summary; fi
checks_passed || exit 1
exit "\${FAKE_TEST_EXIT:-0}"`,
};

const BASIC_UTILITIES = [
    "awk", "basename", "bash", "cat", "chmod", "cp", "cut", "date", "df", "dirname", "find", "findmnt", "flock", "grep",
    "head", "ls", "mkdir", "mktemp", "mv", "rm", "sed", "sha256sum", "sleep", "sort", "tail", "tar", "tee", "tr", "umount", "wc",
];

interface Run {
    status: number | null;
    out: string;
    calls: string[];
}

function setUp(dir: string, omit: string[] = []): void {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const tool of BASIC_UTILITIES) {
        const real = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
        if (real) fs.symlinkSync(real, path.join(bin, tool));
    }
    const log = path.join(dir, "calls.log");
    for (const [tool, body] of Object.entries(DOUBLES)) {
        if (omit.includes(tool)) continue;
        const file = path.join(bin, tool);
        fs.rmSync(file, { force: true }); // never write through a link to a real tool
        fs.writeFileSync(file, `#!/bin/bash\necho "${tool} $*" >> ${JSON.stringify(log)}\n${body}\n`);
        fs.chmodSync(file, 0o755);
    }
}

function run(dir: string, args: string[] = [], env: Record<string, string> = {}): Run {
    const r = spawnSync(path.join(dir, "bin", "bash"), [SCRIPT, "--artifacts", path.join(dir, "artifacts"), ...args], {
        env: {
            PATH: path.join(dir, "bin"),
            HOME: dir,
            STREAMSPACE_CACHE_DIR: path.join(dir, "cache"),
            OFFLINE_IMAGES_MIN_FREE_GIB: "0",
            OFFLINE_IMAGES_TEST_SCRIPT: path.join(dir, "bin", "test-image"),
            ...env,
        },
        encoding: "utf8",
        cwd: dir,
        timeout: 60000,
    });
    const logFile = path.join(dir, "calls.log");
    const calls = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : [];
    fs.rmSync(logFile, { force: true });
    return { status: r.status, out: r.stdout + r.stderr, calls };
}

const summary = (out: string): string | undefined => out.trim().split("\n").filter((l) => /^\d+ passed, \d+ failed/.test(l)).pop();

describe("scripts/offline-images.sh (with test doubles for buildah, podman and debootstrap)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "offline-images-"));
        setUp(dir);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("builds the base on the debootstrapped Debian, the child on the base's digest, offline arguments and the CA secret included", () => {
        const ca = path.join(dir, "proxy-ca.pem");
        fs.writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
        const r = run(dir, ["--report", path.join(dir, "report.tsv")], { OFFLINE_IMAGES_EXTRA_CA: ca });
        assert.equal(r.status, 0, r.out);
        const builds = r.calls.filter((c) => c.startsWith("buildah build"));
        assert.equal(builds.length, 3, r.calls.join("\n"));
        assert.match(builds[0], /--format docker/);
        assert.match(builds[0], /--pull=never/);
        assert.match(builds[0], /--build-arg BASE_IMAGE=localhost\/streamspace-offline\/debian@sha256:[0-9a-f]{64} /);
        assert.match(builds[0], /-t localhost\/streamspace-offline\/selkies-base:offline/);
        // pip and npm inside the builds reach their registries through the host's proxy.
        for (const build of builds) assert.ok(build.includes(`--secret id=extra-ca,src=${ca} `), build);
        const baseRef = /PASS build selkies-base \(.*, (localhost\/streamspace-offline\/selkies-base@sha256:[0-9a-f]{64})\)/.exec(r.out)?.[1];
        assert.ok(baseRef, r.out);
        assert.ok(builds[1].includes(`--build-arg BASE_IMAGE=${baseRef} `), builds[1]);
        assert.match(builds[1], /--build-arg APP_INSTALL_ENV=BROWSER=chromium /);
        assert.match(r.out, /build chrome-selkies: images\/chrome-selkies\/Dockerfile on \S+ \(BROWSER=chromium\)/);
        const report = fs.readFileSync(path.join(dir, "report.tsv"), "utf8");
        assert.match(report, /^chrome-selkies\tlayer\t512000000\t\|1 A=b \/bin\/sh -c apt-get install chromium$/m);
        assert.match(report, /^selkies-base\tbuild_seconds\t[0-9.]+$/m);
        assert.match(report, /^debian-bookworm\tdebootstrap_cached\tno$/m);
        assert.match(r.out, /Left out of the offline build[^]*- chrome-selkies: Google Chrome \(dl\.google\.com\): Debian's Chromium is installed instead/);
        assert.doesNotMatch(r.out, /^\s+- selkies-base/m, "selkies-base is built as published");
    });

    it("passes no CA secret with OFFLINE_IMAGES_EXTRA_CA=none", () => {
        const r = run(dir, ["--no-boot"], { OFFLINE_IMAGES_EXTRA_CA: "none" });
        assert.equal(r.status, 0, r.out);
        const builds = r.calls.filter((c) => c.startsWith("buildah build"));
        assert.equal(builds.length, 3, r.calls.join("\n"));
        assert.ok(builds.every((b) => !b.includes("--secret")), builds.join("\n"));
    });

    it("boots each image, saves a screenshot, runs test-image.sh (its stream screenshots kept) and adds its counts", () => {
        const r = run(dir);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /PASS ready chrome-selkies \(healthy [0-9.]+ s after start\)/);
        assert.match(r.out, /PASS screenshot chrome-selkies \(1280x720, 4 colours on screen\)/);
        assert.ok(fs.existsSync(path.join(dir, "artifacts", "chrome-selkies.png")));
        const artifacts = path.join(dir, "artifacts", "stream-chrome-selkies");
        // A session image is also started as StreamSpace starts it, with its Template's env.
        const envFile = path.join(dir, "artifacts", "logs", "template-env-chrome-selkies");
        assert.ok(r.calls.some((c) => c.startsWith(`test-image --artifacts ${artifacts} --streamspace-env ${envFile} localhost/streamspace-offline/chrome-selkies@sha256:`)), r.calls.join("\n"));
        assert.equal(fs.readFileSync(envFile, "utf8"), "SELKIES_ENABLE_BASIC_AUTH=false\n");
        // The base has no Template.
        assert.ok(r.calls.some((c) => c.startsWith(`test-image --artifacts ${path.join(dir, "artifacts", "stream-selkies-base")} localhost/`)), r.calls.join("\n"));
        // Per session image: build, ready, screenshot, stop, plus test-image's 1 passed and 1 skipped;
        // the tool image: its build, and its boot skipped.
        assert.equal(summary(r.out), "11 passed, 0 failed, 3 skipped");
        assert.match(r.out, /SKIP boot turn-relay: a tool image, not a session/);
        assert.equal(r.calls.filter((c) => c.startsWith("podman run")).length, 2);
        assert.ok(r.calls.filter((c) => c.startsWith("podman run")).every((c) => /-e SELKIES_BASIC_AUTH_PASSWORD=\S+/.test(c)));
    });

    it("counts test-image.sh's checks once, as it records them in the shared tally, whatever summary line it prints", () => {
        fs.mkdirSync(path.join(dir, "tmp"));
        const r = run(dir, [], { FAKE_TEST_SUMMARY: "50 passed, 0 failed, 0 skipped", TMPDIR: path.join(dir, "tmp") });
        assert.equal(r.status, 0, r.out);
        assert.equal(r.out.match(/^ {4}PASS {2}non-root$/gm)?.length, 2, r.out);
        assert.equal(summary(r.out), "11 passed, 0 failed, 3 skipped");
        assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")).filter((f) => f.startsWith("streamspace-checks")), [], "the tally is removed at the end");
    });

    it("fails the run when a check of test-image.sh fails, counting that failure once", () => {
        const r = run(dir, [], { FAKE_TEST_FAIL: "1" });
        assert.notEqual(r.status, 0, r.out);
        assert.match(r.out, /^ {4}FAIL {2}stream \(8080\): no frames$/m);
        assert.doesNotMatch(r.out, /FAIL test-image/);
        assert.equal(summary(r.out), "11 passed, 2 failed, 3 skipped");
    });

    it("fails an image whose test-image.sh exits non-zero with no failed check, or records no check at all", () => {
        const crashed = run(dir, [], { FAKE_TEST_EXIT: "3" });
        assert.notEqual(crashed.status, 0, crashed.out);
        assert.match(crashed.out, /FAIL test-image selkies-base: exited with status 3/);
        assert.equal(summary(crashed.out), "11 passed, 2 failed, 3 skipped");
        const silent = run(dir, [], { FAKE_TEST_NO_CHECKS: "2" });
        assert.notEqual(silent.status, 0, silent.out);
        assert.match(silent.out, /FAIL test-image chrome-selkies: ended with status 2 without recording a check \(log: .*test-image-chrome-selkies\.log\)/);
        assert.equal(summary(silent.out), "9 passed, 2 failed, 1 skipped");
    });

    it("makes the Debian base once and reuses it while its inputs and checksum hold", () => {
        run(dir);
        const second = run(dir);
        assert.equal(second.status, 0, second.out);
        assert.equal(second.calls.filter((c) => c.startsWith("debootstrap")).length, 0, second.out);
        assert.equal(second.calls.filter((c) => c.startsWith("podman import")).length, 0, "an unchanged base is not imported again");
        assert.match(second.out, /base: reusing .*debian-bookworm-[0-9a-f]{16}\.tar/);

        const otherMirror = run(dir, [], { DEBIAN_MIRROR: "http://ftp.de.debian.org/debian" });
        assert.ok(otherMirror.calls.some((c) => c.startsWith("debootstrap --variant=minbase bookworm") && c.endsWith("http://ftp.de.debian.org/debian")));

        const tarball = /base: reusing (\S+\.tar)/.exec(second.out)![1];
        fs.appendFileSync(tarball, "corrupted");
        const corrupted = run(dir);
        assert.match(corrupted.out, /does not match its checksum; making it again/);
        assert.ok(corrupted.calls.some((c) => c.startsWith("debootstrap")));
    });

    it("reports a failed build with the log's end and a hint, skips the images built on it, and exits non-zero", () => {
        const r = run(dir, [], { FAKE_BUILD_FAIL: "selkies-base" });
        assert.notEqual(r.status, 0);
        assert.match(r.out, /FAIL build selkies-base after [0-9.]+ s \(log: .*build-selkies-base\.log\)/);
        assert.match(r.out, /\| Error: writing blob: no space left on device/);
        assert.match(r.out, /The disk under .* is full/);
        assert.match(r.out, /SKIP build chrome-selkies: its base selkies-base was not built/);
        assert.equal(r.calls.filter((c) => c.startsWith("podman run")).length, 0);
        assert.equal(summary(r.out), "1 passed, 1 failed, 2 skipped");
    });

    it("leaves no half-made base behind when debootstrap is interrupted", () => {
        const r = run(dir, [], { FAKE_DEBOOTSTRAP_FAIL: "1" });
        assert.equal(r.status, 1, r.out);
        assert.match(r.out, /error: debootstrap of Debian bookworm failed \(log: .*\); check that http:\/\/deb\.debian\.org\/debian is reachable/);
        assert.match(r.out, /E: Couldn't download packages/);
        const left = fs.readdirSync(path.join(dir, "cache", "base"));
        assert.deepEqual(left.filter((f) => f.includes("partial") || f.endsWith(".tar")), [], left.join(", "));
        assert.equal(r.calls.filter((c) => c.startsWith("buildah")).length, 0);
    });

    it("removes a half-imported base image when the import fails", () => {
        const r = run(dir, [], { FAKE_IMPORT_FAIL: "1" });
        assert.equal(r.status, 1, r.out);
        assert.match(r.out, /error: podman import of .* failed/);
        assert.ok(r.calls.some((c) => /^podman rmi -f localhost\/streamspace-offline\/debian:importing-\d+$/.test(c)), r.calls.join("\n"));
        assert.match(r.out, /removed the half-imported base image/);
    });

    it("fails an image whose container stops before it is healthy, shows its output and removes it", () => {
        const r = run(dir, ["--no-tests"], { FAKE_UNHEALTHY: "1", FAKE_STATUS: "exited" });
        assert.notEqual(r.status, 0);
        assert.match(r.out, /FAIL ready selkies-base: the container is exited before becoming healthy/);
        assert.match(r.out, /\| supervisord: xvfb exited/);
        const started = r.calls.filter((c) => c.startsWith("podman run")).map((c) => /--name (\S+)/.exec(c)![1]);
        for (const name of started) assert.ok(r.calls.some((c) => c.startsWith(`podman rm -f`) && c.endsWith(name)), `${name} was not removed`);
    });

    it("names a missing tool and its Debian package instead of failing later", () => {
        fs.rmSync(path.join(dir, "bin", "buildah"));
        const r = run(dir, ["--no-install"]);
        assert.equal(r.status, 1);
        assert.match(r.out, /error: missing tools: buildah\. Install them with: apt-get install -y buildah/);
        assert.deepEqual(r.calls.filter((c) => /^(podman|debootstrap)/.test(c)), []);
    });

    it("refuses to start on a nearly full disk and says where and how much", () => {
        const r = run(dir, [], { OFFLINE_IMAGES_MIN_FREE_GIB: "1000000" });
        assert.equal(r.status, 1);
        assert.match(r.out, /error: only \d+ MiB free under .*; the offline images need about 1000000 GiB/);
        assert.deepEqual(r.calls.filter((c) => /^(buildah|podman|debootstrap)/.test(c)), []);
    });

    it("says loudly that nothing was built when SKIP_IMAGE_TESTS=1, and counts it as skipped", () => {
        const r = run(dir, [], { SKIP_IMAGE_TESTS: "1" });
        assert.equal(r.status, 0);
        assert.match(r.out, /SKIP_IMAGE_TESTS=1: the images were NOT built or booted/);
        assert.equal(summary(r.out), "0 passed, 0 failed, 1 skipped");
        assert.deepEqual(r.calls.filter((c) => /^(buildah|podman|debootstrap)/.test(c)), []);
    });

    it("lists an image that needs the internet as left out, with the reason, and its children as not built", () => {
        const r = run(dir, ["--no-boot"], { FAKE_OFFLINE: "selkies-base\\tneeds-internet\\tits runtime comes from a vendor download\\n" });
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /- selkies-base: not built: its runtime comes from a vendor download/);
        assert.match(r.out, /SKIP build selkies-base: needs the internet: its runtime comes from a vendor download/);
        assert.match(r.out, /SKIP build chrome-selkies: its base selkies-base was not built/);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("buildah")).map((c) => /-t (\S+)/.exec(c)![1]), ["localhost/streamspace-offline/turn-relay:offline"]);
    });

    it("stops before any build when the catalog's offline facts cannot be read, passing on the catalog's message", () => {
        const r = run(dir, ["--no-boot"], { FAKE_OFFLINE_FAIL: "1" });
        assert.equal(r.status, 1);
        assert.ok(r.out.includes("images/chrome-selkies/image.yaml:20: field 'offline': unknown field"), r.out);
        assert.match(r.out, /could not read the offline build facts from the catalog/);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("buildah")), []);
    });

    it("builds only the asked image and the bases below it with --only", () => {
        const r = run(dir, ["--only", "selkies-base", "--no-boot"]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /Images, in build order: selkies-base\n/);
        assert.equal(r.calls.filter((c) => c.startsWith("buildah build")).length, 1);
        const unknown = run(dir, ["--only", "firefox"]);
        assert.equal(unknown.status, 1);
        assert.match(unknown.out, /--only firefox: no such image; the catalog has: selkies-base chrome-selkies turn-relay/);
    });

    it("rejects an unknown option with exit status 2 and points to --help", () => {
        const r = run(dir, ["--fast"]);
        assert.equal(r.status, 2);
        assert.match(r.out, /unknown argument '--fast'[^]*--help/);
    });
});

describe("scripts/lib/checks.sh (the pass/fail tally the check scripts share)", () => {
    // A check script that runs itself again as a child, as offline-images.sh runs test-image.sh.
    const SCRIPT_TEXT = `set -euo pipefail
source ${JSON.stringify(CHECKS_LIB)}
checks_begin
trap checks_cleanup EXIT
if [ "\${1:-}" = child ]; then
    CHECKS_PAD=" "
    check_pass "child check"
    [ -z "\${CHILD_FAILS:-}" ] || check_fail "child failure"
    checks_summary
    checks_passed
    exit
fi
check_pass "outer check"
check_skip "outer skip"
bash "$0" child | sed 's/^/    /' || echo "child exited with status $?"
checks_summary
checks_passed
`;
    let dir: string;
    const runScript = (env: Record<string, string> = {}) => {
        const script = path.join(dir, "checks-demo.sh");
        fs.writeFileSync(script, SCRIPT_TEXT);
        const r = spawnSync("bash", [script], { env: { PATH: process.env.PATH!, TMPDIR: path.join(dir, "tmp"), ...env }, encoding: "utf8" });
        return { status: r.status, out: r.stdout + r.stderr, left: fs.readdirSync(path.join(dir, "tmp")) };
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "checks-"));
        fs.mkdirSync(path.join(dir, "tmp"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("counts a nested script's checks once in the outer total, the child's summary its own", () => {
        const r = runScript();
        assert.equal(r.status, 0, r.out);
        assert.equal(
            r.out,
            ["PASS outer check", "SKIP outer skip", "    PASS  child check", "    1 passed, 0 failed, 0 skipped", "2 passed, 0 failed, 1 skipped", ""].join("\n"),
        );
        assert.deepEqual(r.left, [], "the outermost script removes the tally it made");
    });

    it("fails the outer run when a check of the child fails", () => {
        const r = runScript({ CHILD_FAILS: "1" });
        assert.equal(r.status, 1, r.out);
        assert.match(r.out, /^ {4}FAIL {2}child failure$/m);
        assert.match(r.out, /^ {4}1 passed, 1 failed, 0 skipped$/m);
        assert.match(r.out, /child exited with status 1\n2 passed, 1 failed, 1 skipped\n$/);
        assert.deepEqual(r.left, []);
    });
});

describe("scripts/test-image.sh (with a stand-in container engine whose containers never start)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-image-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const engine = (): string => {
        const file = path.join(dir, "engine");
        fs.writeFileSync(
            file,
            `#!/bin/bash\necho "engine $*" >> ${JSON.stringify(path.join(dir, "calls.log"))}\ncase $1 in image) echo '{}' ;; inspect) echo false ;; run) echo 0123456789ab ;; esac\nexit 0\n`,
        );
        fs.chmodSync(file, 0o755);
        return file;
    };

    it("maps and names the ports of the image standard (catalog/imageStandard.ts)", () => {
        const envFile = path.join(dir, "template.env");
        fs.writeFileSync(envFile, "SELKIES_ENABLE_BASIC_AUTH=false\n");
        fs.mkdirSync(path.join(dir, "tmp"));
        const r = spawnSync("bash", [path.join(ROOT, "scripts", "test-image.sh"), "--streamspace-env", envFile, "streamspace/selkies-base:test"], {
            env: { PATH: process.env.PATH!, CONTAINER_ENGINE: engine(), PROBE_CHROMIUM: "/bin/true", TMPDIR: path.join(dir, "tmp") },
            encoding: "utf8",
            cwd: dir,
            timeout: 60000,
        });
        const out = r.stdout + r.stderr;
        assert.equal(r.status, 1, out);
        const runs = fs.readFileSync(path.join(dir, "calls.log"), "utf8").split("\n").filter((c) => c.startsWith("engine run -d"));
        const port = (name: string): number => STANDARD_PORTS.find((p) => p.name === name)!.port;
        const main = runs.find((c) => c.includes("-main "));
        assert.ok(main?.includes(STANDARD_PORTS.map((p) => `-p 127.0.0.1::${p.port}`).join(" ")), runs.join("\n"));
        assert.ok(runs.find((c) => c.includes("-jpeg "))?.includes(`-p 127.0.0.1::${port("selkies")} `), runs.join("\n"));
        assert.ok(runs.find((c) => c.includes("-streamspace "))?.includes(`-p 127.0.0.1::${port("web")} `), runs.join("\n"));
        assert.match(out, /^FAIL {2}healthy: not healthy within 180s$/m);
        assert.equal(summary(out), "0 passed, 6 failed, 1 skipped");
        assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")).filter((f) => f.startsWith("streamspace-checks")), [], "the tally it made is removed");
    });

    it("stops with a clear error when it cannot read the standard ports", () => {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        for (const tool of ["bash", "curl", "dirname", "sed", "tr", "rm", "cat"]) {
            const real = ["/usr/bin", "/bin"].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
            if (real) fs.symlinkSync(real, path.join(bin, tool));
        }
        const r = spawnSync(path.join(bin, "bash"), [path.join(ROOT, "scripts", "test-image.sh"), "streamspace/selkies-base:test"], {
            env: { PATH: bin, CONTAINER_ENGINE: engine() },
            encoding: "utf8",
        });
        assert.equal(r.status, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /could not read the standard ports from .*catalog\/imageStandard\.ts: it needs node and the repository's dependencies \(npm ci\)/);
        assert.equal(fs.existsSync(path.join(dir, "calls.log")), false, "no container was started");
    });
});

describe("image.yaml's offline install settings", () => {
    it("name settings the image's install script branches on, with a value it accepts", () => {
        const catalog = loadCatalog(ROOT);
        const withSettings = catalog.images.filter((i) => i.offline && "install" in i.offline);
        assert.deepEqual(withSettings.map((i) => i.name), ["chrome-selkies"], "the images with offline install settings");
        for (const image of withSettings) {
            const file = path.join(ROOT, image.folder, image.dockerfile);
            // What the build runs: the Dockerfile and the install script it runs.
            const built = dockerfileWithScripts(fs.readFileSync(file, "utf8"), path.join(ROOT, image.folder));
            assert.match(built, /\benv \$\{APP_INSTALL_ENV\}/, `${file} does not pass APP_INSTALL_ENV to the install`);
            for (const [key, value] of Object.entries(image.offline && "install" in image.offline ? image.offline.install : {})) {
                assert.match(built, new RegExp(`\\$\\{${key}\\b`), `${image.name}: its install script never reads ${key}`);
                // The build branches on the value (a shell case arm `value)`), so the value selects the offline path.
                assert.ok(new RegExp(`\\b${value}\\)`).test(built), `${image.name}: its install script has no branch for ${key}=${value}`);
            }
        }
    });
});
