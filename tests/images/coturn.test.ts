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

/** A non-loopback, non-link-local address of this machine: coturn refuses to relay to loopback peers. */
function hostAddress(family: "IPv4" | "IPv6"): string | undefined {
    for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) if (a.family === family && !a.internal && !a.address.startsWith("fe80:")) return a.address;
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

    it("refuses to start without the session's addresses, or with a name or range among them", () => {
        const base = { TURN_USERNAME: "streamspace", TURN_PASSWORD: PASSWORD };
        const none = run(base);
        assert.equal(none.status, 2);
        assert.match(none.stderr, /TURN_ALLOWED_PEER_IPS is required: the session's addresses/);
        for (const bad of ["session.ns.svc", "10.0.0.0/8", "10.0.0.1-10.0.0.9", "300.1.1.1"]) {
            const r = run({ ...base, TURN_ALLOWED_PEER_IPS: `10.1.2.3,${bad}` });
            assert.equal(r.status, 2, bad);
            assert.match(r.stderr, new RegExp(`TURN_ALLOWED_PEER_IPS: '${bad.replace(/\./g, "\\.")}' is not an IPv4 or IPv6 address`));
        }
        const relay = run({ ...base, TURN_ALLOWED_PEER_IPS: "10.1.2.3", TURN_RELAY_IP: "pod-ip" });
        assert.equal(relay.status, 2);
        assert.match(relay.stderr, /TURN_RELAY_IP: 'pod-ip' is not an IPv4 or IPv6 address/);
    });

    it("refuses privileged or malformed ports and a password coturn's config cannot hold", () => {
        const base = { TURN_USERNAME: "streamspace", TURN_PASSWORD: PASSWORD, TURN_ALLOWED_PEER_IPS: "10.1.2.3" };
        const low = run({ ...base, TURN_PORT: "478" });
        assert.equal(low.status, 2);
        assert.match(low.stderr, /TURN_PORT must be a port number from 1024 to 65535/);
        assert.equal(run({ ...base, TURN_MIN_PORT: "50010", TURN_MAX_PORT: "50000" }).status, 2);
        const colon = run({ ...base, TURN_PASSWORD: "a:b" });
        assert.equal(colon.status, 2);
        assert.doesNotMatch(colon.stderr, /a:b/, "the password is echoed");
    });

    describe("with Debian's coturn", function () {
        this.timeout(60000);
        let relay: ChildProcess | undefined;
        let port = 0;
        let tmp = "";
        let logs = "";
        const address = hostAddress("IPv4");
        // IPv6 where this machine has a routable address: relayed and refused like IPv4.
        const address6 = hostAddress("IPv6");
        const session = [address, address6].filter((a): a is string => a !== undefined);

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
                    TURN_RELAY_IP: session.join(","),
                    // This machine stands in for the session pod: the only peer allowed.
                    TURN_ALLOWED_PEER_IPS: session.join(","),
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

        /** A TURN client over TCP sending 3 packets through the relay to PEER:PEER_PORT. */
        const relayTo = (peer: string, peerPort: number, password = PASSWORD) =>
            spawnSync(
                "turnutils_uclient",
                [
                    "-t", ...(peer.includes(":") ? ["-x"] : []),
                    "-u", "streamspace", "-w", password, "-p", String(port),
                    "-e", peer, "-r", String(peerPort), "-n", "3", "-m", "1", "127.0.0.1",
                ],
                { encoding: "utf8", timeout: 15000 },
            );

        const relaysBothWays = async (peerAddress: string) => {
            const peerPort = await freePort();
            const peer = spawn("turnutils_peer", ["-L", peerAddress, "-p", String(peerPort)], { stdio: "ignore" });
            try {
                await new Promise((r) => setTimeout(r, 300));
                const r = relayTo(peerAddress, peerPort);
                assert.equal(r.status, 0, r.stdout + r.stderr);
                const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(r.stdout + r.stderr);
                assert.ok(totals, "no totals from the TURN client");
                assert.ok(Number(totals[1]) > 0, "nothing was sent through the relay");
                assert.equal(totals[2], totals[1], "packets sent through the relay did not all come back");
            } finally {
                peer.kill("SIGTERM");
            }
        };

        it("keeps the password off the command line, in a private file that denies every peer but the session", () => {
            const cmdline = fs.readFileSync(`/proc/${relay!.pid}/cmdline`, "utf8");
            assert.match(cmdline, /turnserver/);
            assert.doesNotMatch(cmdline, new RegExp(PASSWORD));
            const [dir] = fs.readdirSync(tmp);
            const config = path.join(tmp, dir, "turnserver.conf");
            assert.equal(fs.statSync(config).mode & 0o077, 0, "the configuration is readable by others");
            const text = fs.readFileSync(config, "utf8");
            assert.match(text, /^no-cli$/m);
            const lines = (key: string) => text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
            assert.deepEqual(lines("denied-peer-ip"), ["0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]);
            assert.deepEqual(lines("allowed-peer-ip"), session);
            assert.deepEqual(lines("relay-ip"), session);
            assert.doesNotMatch(logs, new RegExp(PASSWORD), "the password is logged");
        });

        it("relays over TCP for its credential to the session (IPv4): packets reach it and come back", async () => {
            await relaysBothWays(address!);
        });

        it("relays to the session over IPv6 too", async function () {
            if (!address6) this.skip();
            await relaysBothWays(address6!);
        });

        it("refuses every other peer: metadata endpoints, the cluster's ranges, IPv4-mapped and loopback forms", function () {
            const ipv4 = ["169.254.169.254", "10.96.0.1", "172.16.0.10", "192.168.1.1", "100.64.0.1", "8.8.8.8"];
            const ipv6 = ["fd00:ec2::254", "::ffff:169.254.169.254", "::ffff:10.96.0.1", "::1", "2001:4860:4860::8888"];
            for (const peer of [...ipv4, ...(address6 ? ipv6 : [])]) {
                const r = relayTo(peer, 9);
                assert.notEqual(r.status, 0, `the relay accepted the peer ${peer}`);
                assert.match(r.stdout + r.stderr, /403 \(Forbidden IP\)/, `${peer}: refused, but not as a forbidden peer:\n${r.stdout}${r.stderr}`);
            }
        });

        it("refuses a wrong password", () => {
            const r = relayTo(address!, 9, "wrong-password");
            assert.notEqual(r.status, 0, "an allocation with a wrong password succeeded");
            assert.match(r.stdout + r.stderr, /Cannot complete Allocation/);
        });
    });
});
