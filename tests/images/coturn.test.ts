/**
 * The TURN relay's start script against Debian's real coturn: it must refuse bad settings before
 * starting, keep the password off the command line, and relay media for its credential only.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";

const START = path.join(ROOT, "images/coturn/rootfs/usr/local/bin/coturn-start");
const PASSWORD = "relay-test-password-1";

function hasTool(tool: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** A non-loopback IPv4 address of this machine: coturn refuses to relay to loopback peers. */
function hostAddress(): string | undefined {
    for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
    }
    return undefined;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

async function waitForPort(port: number, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        const open = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
            s.once("error", () => resolve(false));
        });
        if (open) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

describe("coturn image: coturn-start", () => {
    const run = (env: Record<string, string>) =>
        spawnSync("bash", [START], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 10000 });

    it("refuses to start without a credential, saying which variable is missing", () => {
        const r = run({ TURN_USERNAME: "streamspace" });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /TURN_PASSWORD is required/);
    });

    it("refuses privileged or malformed ports and a password coturn's config cannot hold", () => {
        const base = { TURN_USERNAME: "streamspace", TURN_PASSWORD: PASSWORD };
        const low = run({ ...base, TURN_PORT: "478" });
        assert.equal(low.status, 2);
        assert.match(low.stderr, /TURN_PORT must be a port number from 1024 to 65535/);
        assert.equal(run({ ...base, TURN_MIN_PORT: "50010", TURN_MAX_PORT: "50000" }).status, 2);
        const colon = run({ ...base, TURN_PASSWORD: "a:b" });
        assert.equal(colon.status, 2);
        assert.doesNotMatch(colon.stderr, /a:b/, "the password is echoed");
    });

    describe("with Debian's coturn", function () {
        this.timeout(30000);
        let relay: ChildProcess | undefined;
        let port = 0;
        let tmp = "";
        let logs = "";
        const address = hostAddress();

        before(async function () {
            if (!hasTool("turnserver") || !hasTool("turnutils_uclient") || !address) {
                // coturn is a Debian package; scripts/test.sh installs the packages the tests use.
                this.skip();
            }
            port = await freePort();
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "coturn-test-"));
            relay = spawn("bash", [START], {
                env: {
                    PATH: process.env.PATH ?? "",
                    TMPDIR: tmp,
                    TURN_USERNAME: "streamspace",
                    TURN_PASSWORD: PASSWORD,
                    TURN_PORT: String(port),
                    TURN_MIN_PORT: "50100",
                    TURN_MAX_PORT: "50140",
                    TURN_RELAY_IP: address!,
                },
                stdio: ["ignore", "pipe", "pipe"],
            });
            relay.stdout!.on("data", (d) => (logs += d));
            relay.stderr!.on("data", (d) => (logs += d));
            await waitForPort(port, 10000);
        });

        after(() => {
            relay?.kill("SIGTERM");
            if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        });

        it("keeps the password off the command line, in a private file", () => {
            const cmdline = fs.readFileSync(`/proc/${relay!.pid}/cmdline`, "utf8");
            assert.match(cmdline, /turnserver/);
            assert.doesNotMatch(cmdline, new RegExp(PASSWORD));
            const [dir] = fs.readdirSync(tmp);
            const config = path.join(tmp, dir, "turnserver.conf");
            assert.equal(fs.statSync(config).mode & 0o077, 0, "the configuration is readable by others");
            assert.match(fs.readFileSync(config, "utf8"), /^no-cli$/m);
            assert.doesNotMatch(logs, new RegExp(PASSWORD), "the password is logged");
        });

        it("relays over TCP for its credential: packets reach a peer and come back", async () => {
            const peerPort = await freePort();
            const peer = spawn("turnutils_peer", ["-L", address!, "-p", String(peerPort)], { stdio: "ignore" });
            try {
                await new Promise((r) => setTimeout(r, 300));
                const r = spawnSync(
                    "turnutils_uclient",
                    ["-t", "-u", "streamspace", "-w", PASSWORD, "-p", String(port), "-e", address!, "-r", String(peerPort), "-n", "3", "-m", "1", "127.0.0.1"],
                    { encoding: "utf8", timeout: 15000 },
                );
                assert.equal(r.status, 0, r.stdout + r.stderr);
                const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(r.stdout + r.stderr);
                assert.ok(totals, "no totals from the TURN client");
                assert.ok(Number(totals[1]) > 0, "nothing was sent through the relay");
                assert.equal(totals[2], totals[1], "packets sent through the relay did not all come back");
            } finally {
                peer.kill("SIGTERM");
            }
        });

        it("refuses a wrong password", () => {
            const r = spawnSync(
                "turnutils_uclient",
                ["-t", "-u", "streamspace", "-w", "wrong-password", "-p", String(port), "-e", address!, "-n", "1", "-m", "1", "127.0.0.1"],
                { encoding: "utf8", timeout: 15000 },
            );
            assert.notEqual(r.status, 0, "an allocation with a wrong password succeeded");
        });
    });
});
