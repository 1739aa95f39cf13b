/**
 * The start-up steps of selkies-base run as plain processes against a scratch file tree
 * (STREAMSPACE_ROOT) with stand-ins for nvidia-smi, ldconfig, vainfo, xdpyinfo, xdotool and curl
 * first on PATH. What they print is what the container would export; what they log is what a user
 * reads in the container log.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";

// The steps run as other uids too, which may not traverse the checkout (a clone in a private
// temporary folder): they run from a world-readable copy of the image's rootfs.
const ROOTFS = fs.mkdtempSync(path.join(os.tmpdir(), "streamspace-rootfs-"));
fs.chmodSync(ROOTFS, 0o755);
fs.cpSync(path.join(ROOT, "images/selkies-base/rootfs"), ROOTFS, { recursive: true });
after(() => fs.rmSync(ROOTFS, { recursive: true, force: true }));
const LIB = path.join(ROOTFS, "usr/local/lib/streamspace");
const INIT_D = path.join(ROOTFS, "etc/streamspace/init.d");
const isRoot = process.getuid?.() === 0;

interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
    /** The KEY=VALUE lines printed, as the entrypoint would export them. */
    exports: Record<string, string>;
}

/** A scratch tree laid out like the image: passwd, group, zoneinfo, /config, /dev, build record. */
class Scratch {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "streamspace-startup-"));
    readonly fakeCommands = path.join(this.dir, "fake-commands");
    readonly run = path.join(this.dir, "run");

    constructor() {
        fs.chmodSync(this.dir, 0o1777); // like /tmp, where the runtime directory lives
        for (const d of ["etc/streamspace", "usr/share/zoneinfo/Europe", "config", "dev/dri", "fake-commands"]) {
            fs.mkdirSync(path.join(this.dir, d), { recursive: true });
        }
        this.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nstreamspace:x:1000:1000::/config:/bin/bash\n");
        this.write("etc/group", "root:x:0:\nvideo:x:44:\nstreamspace:x:1000:\n");
        this.write("usr/share/zoneinfo/UTC", "TZif");
        this.write("usr/share/zoneinfo/Europe/Berlin", "TZif");
        this.write("etc/streamspace/build.env", "SELKIES_VERSION=2.1.0\n");
        fs.chownSync(path.join(this.dir, "config"), 1000, 1000);
        fs.writeFileSync(path.join(this.dir, "config/notes.txt"), "x");
    }

    write(rel: string, content: string, mode = 0o644): string {
        const file = path.join(this.dir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content, { mode });
        fs.chmodSync(file, mode);
        return file;
    }

    /** A stand-in command on PATH: a shell script body. */
    fakeCommand(name: string, body: string): void {
        this.write(`fake-commands/${name}`, `#!/bin/bash\n${body}\n`, 0o755);
    }

    /** Runs a script (optionally as another uid through setpriv) and parses what it exports. */
    exec(script: string, env: Record<string, string> = {}, opts: { uid?: number; args?: string[] } = {}): Result {
        const fullEnv: Record<string, string> = {
            PATH: `${this.fakeCommands}:/usr/sbin:/usr/bin:/sbin:/bin`,
            STREAMSPACE_ROOT: this.dir,
            STREAMSPACE_LIB: LIB,
            STREAMSPACE_RUN: this.run,
            ...env,
        };
        const [cmd, args] =
            opts.uid === undefined
                ? [script, opts.args ?? []]
                : ["setpriv", [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, "--clear-groups", "--", script, ...(opts.args ?? [])]];
        const r = spawnSync(cmd, args, { env: fullEnv, encoding: "utf8", timeout: 30000 });
        const exports: Record<string, string> = {};
        for (const line of (r.stdout ?? "").split("\n")) {
            const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
            if (m) exports[m[1]] = m[2];
        }
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", exports };
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

const step = (name: string): string => path.join(INIT_D, name);

describe("selkies-base start-up", () => {
    let s: Scratch;
    beforeEach(() => {
        s = new Scratch();
    });
    afterEach(() => s.cleanup());

    describe("40-display: screen size", () => {
        it("passes the standard defaults through", () => {
            const r = s.exec(step("40-display"), { DISPLAY_WIDTH: "1920", DISPLAY_HEIGHT: "1080", DISPLAY_DPI: "96" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(
                [r.exports.DISPLAY_WIDTH, r.exports.DISPLAY_HEIGHT, r.exports.DISPLAY_DPI, r.exports.DISPLAY],
                ["1920", "1080", "96", ":0"],
            );
        });

        const bad: [string, Record<string, string>, RegExp][] = [
            ["a non-number", { DISPLAY_WIDTH: "wide" }, /DISPLAY_WIDTH=wide is not a whole number; use 640 to 7680/],
            ["below 640x480", { DISPLAY_WIDTH: "638" }, /DISPLAY_WIDTH=638 is below the minimum 640/],
            ["a height below 480", { DISPLAY_HEIGHT: "400" }, /DISPLAY_HEIGHT=400 is below the minimum 480/],
            ["above 7680x4320", { DISPLAY_WIDTH: "7682" }, /DISPLAY_WIDTH=7682 is above the maximum 7680/],
            ["a height above 4320", { DISPLAY_HEIGHT: "4322" }, /DISPLAY_HEIGHT=4322 is above the maximum 4320/],
            ["an odd size", { DISPLAY_WIDTH: "1367" }, /both must be even/],
            ["a DPI of zero", { DISPLAY_DPI: "0" }, /DISPLAY_DPI=0 is below the minimum 48/],
        ];
        for (const [what, env, message] of bad) {
            it(`stops the container on ${what}, naming the variable`, () => {
                const r = s.exec(step("40-display"), env);
                assert.strictEqual(r.status, 1);
                assert.match(r.stderr, message);
                assert.strictEqual(r.stdout, "", "nothing is exported from a failed step");
            });
        }
    });

    describe("30-timezone", () => {
        it("applies a known zone", () => {
            const r = s.exec(step("30-timezone"), { TZ: "Europe/Berlin" });
            assert.strictEqual(r.status, 0);
            assert.strictEqual(r.exports.TZ, "Europe/Berlin");
        });

        for (const tz of ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin;rm"]) {
            it(`falls back to UTC with a warning for ${tz}`, () => {
                const r = s.exec(step("30-timezone"), { TZ: tz });
                assert.strictEqual(r.status, 0);
                assert.strictEqual(r.exports.TZ, "UTC");
                assert.match(r.stderr, /WARNING: TZ=.* is not a known time zone.*using UTC/);
            });
        }
    });

    describe("10-user: PUID and PGID", () => {
        for (const [name, value] of [["PUID", "0"], ["PGID", "0"]]) {
            it(`refuses ${name}=0 with a clear message`, () => {
                const r = s.exec(step("10-user"), { PUID: "1000", PGID: "1000", [name]: value });
                assert.strictEqual(r.status, 1);
                assert.match(r.stderr, new RegExp(`${name}=0 would run the session as root`));
            });
        }

        it("refuses an id that is not a number", () => {
            const r = s.exec(step("10-user"), { PUID: "alice", PGID: "1000" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /PUID=alice is not a number/);
        });

        (isRoot ? it : it.skip)("as root: remaps the session user to PUID/PGID, hands it its home, asks to drop root", () => {
            const render = s.write("dev/dri/renderD128", "");
            fs.chownSync(render, 0, 109);
            const r = s.exec(step("10-user"), { PUID: "1001", PGID: "1002" });
            assert.strictEqual(r.status, 0, r.stderr);
            const passwd = fs.readFileSync(path.join(s.dir, "etc/passwd"), "utf8");
            assert.match(passwd, /^streamspace:x:1001:1002::\/config:\/bin\/bash$/m);
            assert.match(passwd, /^root:x:0:0:/m, "other users are untouched");
            assert.match(fs.readFileSync(path.join(s.dir, "etc/group"), "utf8"), /^streamspace:x:1002:$/m);
            const st = fs.statSync(path.join(s.dir, "config/notes.txt"));
            assert.deepStrictEqual([st.uid, st.gid], [1001, 1002]);
            assert.strictEqual(r.exports.STREAMSPACE_RUN_AS, "1001:1002:1002,109", "the render node's group is kept");
        });

        (isRoot ? it : it.skip)("as another uid: keeps it and logs that PUID/PGID do not apply", () => {
            const r = s.exec(step("10-user"), { PUID: "1000", PGID: "1000" }, { uid: 1234 });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.STREAMSPACE_RUN_AS, undefined);
            assert.match(r.stderr, /running as uid 1234 gid 1234 .*PUID=1000 PGID=1000 apply only when it starts as root/);
        });
    });

    (isRoot ? describe : describe.skip)("20-identity: any uid gets a name and a home", () => {
        it("gives a uid missing from /etc/passwd an entry through nss_wrapper", () => {
            const lib = s.write("lib/libnss_wrapper.so", "");
            fs.chmodSync(path.join(s.dir, "config"), 0o777);
            const r = s.exec(step("20-identity"), { NSS_WRAPPER_LIB: lib }, { uid: 1234 });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.LD_PRELOAD, lib);
            assert.match(fs.readFileSync(r.exports.NSS_WRAPPER_PASSWD, "utf8"), /^streamspace:x:1234:1234:StreamSpace session:.*\/config:\/bin\/bash$/m);
            assert.match(fs.readFileSync(r.exports.NSS_WRAPPER_GROUP, "utf8"), /^streamspace:x:1234:$/m);
            assert.strictEqual(r.exports.HOME, path.join(s.dir, "config"));
            assert.strictEqual(r.exports.XDG_RUNTIME_DIR, path.join(s.run, "xdg"));
            assert.strictEqual(fs.statSync(s.run).mode & 0o777, 0o700, "the runtime directory is private");
        });

        it("falls back to a home under the runtime directory, with a warning, when /config is not writable", () => {
            const r = s.exec(step("20-identity"), {}, { uid: 1234 });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.HOME, path.join(s.run, "home"));
            assert.match(r.stderr, /WARNING: home \/config is not writable by uid 1234/);
        });

        it("refuses a runtime directory that belongs to someone else", () => {
            fs.mkdirSync(s.run);
            fs.chownSync(s.run, 1000, 1000);
            const r = s.exec(step("20-identity"), {}, { uid: 1234 });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /belongs to uid 1000, not to uid 1234/);
        });
    });

    describe("45-transport: SELKIES_MODE", () => {
        const transport = (env: Record<string, string> = {}): Result => s.exec(step("45-transport"), env);
        const turn = { SELKIES_MODE: "webrtc", SELKIES_TURN_HOST: "turn.session.svc", SELKIES_TURN_PORT: "3478", SELKIES_TURN_USERNAME: "u", SELKIES_TURN_PASSWORD: "p" };

        it("streams over WebSockets by default and says the browser needs HTTPS or localhost", () => {
            const r = transport();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.SELKIES_MODE, "websockets");
            assert.match(r.stderr, /transport: WebSockets .*HTTPS or localhost/);
        });

        it("refuses WebRTC without a TURN server of the user's own, naming the public relay it avoids", () => {
            const r = transport({ SELKIES_MODE: "webrtc" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /SELKIES_MODE=webrtc needs your own TURN server: set SELKIES_TURN_HOST.*public relay run by a third party.*SELKIES_MODE=websockets/);
        });

        it("takes WebRTC with a TURN server and points STUN at it, never at a public one", () => {
            const r = transport({ ...turn, SELKIES_MODE: "WebRTC" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.SELKIES_MODE, "webrtc");
            assert.strictEqual(r.exports.SELKIES_STUN_HOST, "turn.session.svc");
            assert.strictEqual(r.exports.SELKIES_STUN_PORT, "3478");
            assert.match(r.stderr, /relayed through TURN turn\.session\.svc:3478/);
        });

        const bad: Array<[string, Record<string, string>, RegExp]> = [
            ["an unknown mode", { SELKIES_MODE: "vnc" }, /SELKIES_MODE=vnc: expected websockets \(the default\) or webrtc/],
            ["a TURN host without a port", { ...turn, SELKIES_TURN_PORT: "" }, /without SELKIES_TURN_PORT/],
            ["a TURN port out of range", { ...turn, SELKIES_TURN_PORT: "70000" }, /SELKIES_TURN_PORT=70000 is not a port number/],
            ["a TURN host without credentials", { ...turn, SELKIES_TURN_PASSWORD: "" }, /TURN credentials are not: set SELKIES_TURN_USERNAME and SELKIES_TURN_PASSWORD, or SELKIES_TURN_SHARED_SECRET/],
            ["an RTC config file that is not there", { SELKIES_MODE: "webrtc", SELKIES_RTC_CONFIG_JSON: "/nonexistent/rtc.json" }, /SELKIES_RTC_CONFIG_JSON=\/nonexistent\/rtc.json cannot be read/],
        ];
        for (const [what, env, message] of bad) {
            it(`stops the container on ${what}, naming the variable`, () => {
                const r = transport(env);
                assert.strictEqual(r.status, 1, r.stderr);
                assert.match(r.stderr, message);
            });
        }
    });

    describe("50-encoder: SELKIES_ENCODER=auto", () => {
        const gpu = (name: string): void => s.fakeCommand("nvidia-smi", `echo "${name}"`);
        // ldconfig -p as a container with the NVIDIA toolkit's video capability lists it.
        const nvencLibrary = (present: boolean): void =>
            s.fakeCommand("ldconfig", present ? 'echo "	libnvidia-encode.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvidia-encode.so.1"' : "exit 0");
        const renderNode = (encodes: boolean): void => {
            s.write("dev/dri/renderD128", "", 0o666);
            s.fakeCommand("vainfo", encodes ? 'echo "      VAProfileH264Main               :	VAEntrypointEncSlice"' : 'echo "      VAProfileH264Main               :	VAEntrypointVLD"');
        };
        const encoder = (env: Record<string, string> = {}): Result =>
            s.exec(step("50-encoder"), { SELKIES_ENCODER: "auto", NVIDIA_DRIVER_CAPABILITIES: "compute,utility,video,graphics", ...env });
        beforeEach(() => nvencLibrary(false));

        it("picks NVENC on a GPU that has one (T4): h264enc on the GPU", () => {
            gpu("Tesla T4");
            nvencLibrary(true);
            const r = encoder();
            assert.strictEqual(r.exports.SELKIES_ENCODER, "h264enc");
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "false");
            assert.match(r.stderr, /video encoder: h264enc \(GPU Tesla T4 has an NVENC encoder; encoding with NVENC\)/);
        });

        for (const name of ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "NVIDIA H200"]) {
            it(`skips NVENC on ${name}, which has none, and uses a working VA-API node`, () => {
                gpu(name);
                nvencLibrary(true);
                renderNode(true);
                const r = encoder();
                assert.strictEqual(r.exports.SELKIES_ENCODER, "h264enc");
                assert.strictEqual(r.exports.SELKIES_USE_CPU, "false");
                assert.match(r.stderr, new RegExp(`GPU ${name} has no NVENC video encoder; render node /dev/dri/renderD128 encodes H.264 with VA-API`));
            });
        }

        it("on a GPU without NVENC and no VA-API node, encodes in software and tells Selkies not to try NVENC", () => {
            gpu("NVIDIA H100 80GB HBM3");
            nvencLibrary(true);
            const r = encoder();
            assert.strictEqual(r.exports.SELKIES_ENCODER, "h264enc");
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /has no NVENC video encoder; no render node in \/dev\/dri; encoding in software \(x264\)/);
        });

        it("skips NVENC when the toolkit was not asked for video, and says so", () => {
            gpu("NVIDIA L4");
            nvencLibrary(true);
            const r = encoder({ NVIDIA_DRIVER_CAPABILITIES: "compute,utility" });
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /NVIDIA_DRIVER_CAPABILITIES=compute,utility lacks 'video'/);
        });

        it("skips NVENC when the encoder library is not mounted", () => {
            gpu("NVIDIA L4");
            const r = encoder();
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /the NVENC library \(libnvidia-encode.so.1\) is not mounted/);
        });

        it("skips a render node that cannot encode H.264 and falls back to x264", () => {
            renderNode(false);
            const r = encoder();
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /no NVIDIA GPU.*render node \/dev\/dri\/renderD128 has no VA-API H.264 encoder; encoding in software/);
        });

        it("uses x264 with no GPU at all", () => {
            const r = encoder();
            assert.strictEqual(r.exports.SELKIES_ENCODER, "h264enc");
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /no render node in \/dev\/dri; encoding in software/);
        });

        it("SELKIES_USE_CPU given by the user wins over the detection", () => {
            gpu("Tesla T4");
            nvencLibrary(true);
            const r = encoder({ SELKIES_USE_CPU: "yes" });
            assert.strictEqual(r.exports.SELKIES_USE_CPU, "true");
            assert.match(r.stderr, /SELKIES_USE_CPU=true set explicitly/);
        });

        it("an explicit encoder Selkies knows always wins", () => {
            gpu("Tesla T4");
            nvencLibrary(true);
            const r = encoder({ SELKIES_ENCODER: "jpeg" });
            assert.strictEqual(r.exports.SELKIES_ENCODER, "jpeg");
            assert.strictEqual(r.exports.SELKIES_USE_CPU, undefined);
            assert.match(r.stderr, /set explicitly by SELKIES_ENCODER/);
        });

        it("refuses a Selkies-GStreamer encoder name with the Selkies 2 one, and encoders the transport lacks", () => {
            let r = encoder({ SELKIES_ENCODER: "x264enc" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /SELKIES_ENCODER=x264enc is a Selkies-GStreamer name; Selkies 2 takes h264enc/);
            r = encoder({ SELKIES_ENCODER: "jpeg", SELKIES_MODE: "webrtc" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /SELKIES_ENCODER=jpeg: expected auto or one of: h264enc openh264enc \(SELKIES_MODE=webrtc\)/);
        });
    });

    describe("60-auth and 70-web: who may connect", () => {
        beforeEach(() => fs.mkdirSync(s.run, { mode: 0o700 }));

        it("refuses to start with basic auth on and no password", () => {
            const r = s.exec(step("60-auth"), { SELKIES_ENABLE_BASIC_AUTH: "true" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /SELKIES_BASIC_AUTH_PASSWORD is empty: set it .*SELKIES_BASIC_AUTH_PASSWORD_FILE.*or set SELKIES_ENABLE_BASIC_AUTH=false/);
        });

        it("hands Selkies the user and password, never logs the password, and drops VNC_PASSWORD from the environment", () => {
            const r = s.exec(step("60-auth"), { SELKIES_BASIC_AUTH_USER: "alice", SELKIES_BASIC_AUTH_PASSWORD: "s3cret-pass" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.SELKIES_BASIC_AUTH_USER, "alice");
            assert.strictEqual(r.exports.SELKIES_BASIC_AUTH_PASSWORD, "s3cret-pass");
            assert.strictEqual(fs.readFileSync(path.join(s.run, "vnc.passwd"), "utf8"), "s3cret-pass\n", "VNC defaults to the basic auth password");
            assert.strictEqual(fs.statSync(path.join(s.run, "vnc.passwd")).mode & 0o777, 0o600);
            assert.ok(r.stdout.split("\n").includes("-VNC_PASSWORD"));
            assert.ok(!r.stderr.includes("s3cret-pass"), "the password never reaches the log");
        });

        it("reads the password from SELKIES_BASIC_AUTH_PASSWORD_FILE (a mounted Secret) and unsets the file variable", () => {
            const file = s.write("secret/password", "from-a-secret\n", 0o600);
            const r = s.exec(step("60-auth"), { SELKIES_BASIC_AUTH_PASSWORD_FILE: file });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.exports.SELKIES_BASIC_AUTH_PASSWORD, "from-a-secret");
            assert.ok(r.stdout.split("\n").includes("-SELKIES_BASIC_AUTH_PASSWORD_FILE"));
            assert.ok(!r.stderr.includes("from-a-secret"));
        });

        const bad: Array<[string, (file: string) => Record<string, string>, RegExp]> = [
            ["both password variables", (file) => ({ SELKIES_BASIC_AUTH_PASSWORD: "a", SELKIES_BASIC_AUTH_PASSWORD_FILE: file }), /both set: set only one/],
            ["a password file that cannot be read", () => ({ SELKIES_BASIC_AUTH_PASSWORD_FILE: "/nonexistent/password" }), /SELKIES_BASIC_AUTH_PASSWORD_FILE=\/nonexistent\/password cannot be read/],
            ["an empty password file", (file) => (fs.writeFileSync(file, ""), { SELKIES_BASIC_AUTH_PASSWORD_FILE: file }), /is empty: put the password in it/],
            ["a password of two lines", () => ({ SELKIES_BASIC_AUTH_PASSWORD: "one\ntwo" }), /contains a line break/],
        ];
        for (const [what, env, message] of bad) {
            it(`refuses ${what}, without printing the password`, () => {
                const file = s.write("secret/password", "pw", 0o600);
                const r = s.exec(step("60-auth"), env(file));
                assert.strictEqual(r.status, 1, r.stderr);
                assert.match(r.stderr, message);
                assert.ok(!r.stderr.includes("two"), "the password reached the log");
            });
        }

        it("with auth off: no password handed on, a warning, and VNC locked with a random password", () => {
            const r = s.exec(step("60-auth"), { SELKIES_ENABLE_BASIC_AUTH: "false", SELKIES_BASIC_AUTH_PASSWORD: "ignored" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.ok(r.stdout.split("\n").includes("-SELKIES_BASIC_AUTH_PASSWORD"));
            assert.match(r.stderr, /basic auth is OFF/);
        });

        it("with no password at all, VNC is locked with a random one", () => {
            const r = s.exec(step("60-auth"), { SELKIES_ENABLE_BASIC_AUTH: "false" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stderr, /locked with a random password/);
            assert.ok(fs.readFileSync(path.join(s.run, "vnc.passwd"), "utf8").trim().length >= 24);
        });

        it("nginx serves 8080 and 3000 alike: /health open, everything else passed to Selkies with WebSocket upgrades", () => {
            const r = s.exec(step("70-web"));
            assert.strictEqual(r.status, 0, r.stderr);
            const conf = fs.readFileSync(path.join(s.run, "nginx.conf"), "utf8");
            const servers = conf.split(/\n    server \{/).slice(1);
            assert.deepStrictEqual(servers.map((b) => /listen (\d+);/.exec(b)?.[1]), ["8080", "3000"]);
            for (const block of servers) {
                assert.match(block, /location = \/health \{[^}]*try_files \/status =503;/);
                assert.match(block, /location \/ \{\s+proxy_pass http:\/\/127\.0\.0\.1:8081;[^}]*proxy_set_header Upgrade \$http_upgrade;[^}]*proxy_set_header Connection \$connection_upgrade;/);
                // Selkies' own basic auth guards the session; nginx adds none that could differ between ports.
                assert.doesNotMatch(block, /auth_basic/);
            }
            assert.match(r.stderr, /ports 8080 3000: nginx in front of Selkies on 127\.0\.0\.1:8081/);
        });
    });

    describe("run-health: what GET /health answers", () => {
        const health = (env: Record<string, string> = {}): Result => s.exec(path.join(LIB, "run-health"), { STREAMSPACE_HEALTH_ONCE: "1", ...env });
        const status = (): string | undefined => {
            const f = path.join(s.run, "health/status");
            return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
        };
        beforeEach(() => {
            fs.mkdirSync(s.run, { mode: 0o700 });
            s.fakeCommand("xdpyinfo", "exit 0");
            // curl -w '%{http_code}' URL: Selkies' /api/health and nginx's /health answer 200.
            s.fakeCommand("curl", 'for a; do url=$a; done; case "$url" in *:8081/api/health) printf 200 ;; *:8081/*) printf 401 ;; *) printf 200 ;; esac');
            s.fakeCommand("xdotool", 'case "$*" in "search --class chromium") echo 4194305 ;; *) exit 1 ;; esac');
        });

        it("answers OK when the X server, Selkies and nginx all answer", () => {
            const r = health();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(status(), "OK\n");
        });

        it("stops answering OK the moment the X server is gone", () => {
            health();
            s.fakeCommand("xdpyinfo", "exit 1");
            const r = health();
            assert.strictEqual(r.status, 1);
            assert.strictEqual(status(), undefined);
            assert.match(r.stderr, /not answering: x-server/);
        });

        it("in an app image, answers OK only once the application's window is on screen", () => {
            let r = health({ APP_WINDOW_CLASS: "firefox" });
            assert.strictEqual(r.status, 1);
            assert.strictEqual(status(), undefined);
            assert.match(r.stderr, /not answering: app-window/);
            r = health({ APP_WINDOW_CLASS: "chromium" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(status(), "OK\n");
        });

        it("stops answering OK when Selkies is down", () => {
            s.fakeCommand("curl", 'for a; do url=$a; done; case "$url" in *:8081/*) printf 000 ;; *) printf 200 ;; esac');
            const r = health();
            assert.strictEqual(status(), undefined);
            assert.match(r.stderr, /not answering: selkies/);
        });
    });

    (isRoot ? describe : describe.skip)("streamspace-init: the whole start-up", () => {
        const init = path.join(ROOTFS, "usr/local/bin/streamspace-init");
        const base = (): Record<string, string> => ({
            STREAMSPACE_INIT_DIR: INIT_D,
            SELKIES_BASIC_AUTH_PASSWORD: "pw",
            TZ: "Europe/Berlin",
            DISPLAY_WIDTH: "1280",
            DISPLAY_HEIGHT: "720",
        });

        it("started as root with PUID/PGID 1001, runs the command as 1001 with the settings exported", () => {
            fs.chmodSync(path.join(s.dir, "config"), 0o755);
            const r = s.exec(init, { ...base(), PUID: "1001", PGID: "1001" }, {
                args: ["bash", "-c", 'echo "ids=$(id -u):$(id -g) tz=$TZ size=${DISPLAY_WIDTH}x${DISPLAY_HEIGHT} enc=$SELKIES_ENCODER vnc=${VNC_PASSWORD:-unset} home=$HOME"; grep ^CapEff /proc/self/status'],
            });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, new RegExp(`ids=1001:1001 tz=Europe/Berlin size=1280x720 enc=h264enc vnc=unset home=${s.dir}/config`));
            assert.match(r.stdout, /CapEff:\s+0000000000000000/, "no capabilities are left");
            assert.match(r.stderr, /dropping root: continuing as uid 1001 gid 1001/);
        });

        it("started as uid 1234, still starts", () => {
            fs.chmodSync(path.join(s.dir, "config"), 0o777);
            const r = s.exec(init, base(), { uid: 1234, args: ["bash", "-c", 'echo "ids=$(id -u):$(id -g) user=$USER"'] });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /ids=1234:1234 user=streamspace/);
        });

        it("stops with the failing step's message and never runs the command", () => {
            const r = s.exec(init, { ...base(), DISPLAY_WIDTH: "100" }, { args: ["bash", "-c", "echo started"] });
            assert.strictEqual(r.status, 1);
            assert.ok(!r.stdout.includes("started"));
            assert.match(r.stderr, /DISPLAY_WIDTH=100 is below the minimum 640/);
            assert.match(r.stderr, /start-up stopped at step 40-display/);
        });
    });
});
