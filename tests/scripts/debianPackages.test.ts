/** scripts/lib/debian-packages.sh (sourced by the test command) with test doubles for dpkg-query, apt-get and systemctl. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";
import { fakeTools } from "./fakeCommands";

function install(dir: string, systemd: boolean, packages: string[], masked = false) {
    const systemdDir = path.join(dir, systemd ? "run-systemd-system" : "no-systemd");
    if (systemd) fs.mkdirSync(systemdDir, { recursive: true });
    fakeTools(dir, {
        "dpkg-query": 'case "${@: -1}" in shellcheck) printf "install ok installed" ;; *) exit 1 ;; esac',
        "apt-get": "exit 0",
        systemctl: `case "$1" in is-enabled) ${masked ? "echo masked" : "echo disabled; exit 1"} ;; esac`,
        id: "echo 0",
    });
    const r = spawnSync("bash", ["-c", `set -euo pipefail; source scripts/lib/debian-packages.sh; install_debian_packages ${packages.join(" ")}`], {
        cwd: ROOT,
        env: { PATH: `${dir}:/usr/bin:/bin`, STREAMSPACE_SYSTEMD_RUN_DIR: systemdDir },
        encoding: "utf8",
    });
    const log = path.join(dir, "calls.log");
    return { status: r.status, out: r.stdout + r.stderr, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
}

describe("scripts/lib/debian-packages.sh", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "debian-packages-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("installs only what is missing, and masks coturn's service before installing it where systemd runs", () => {
        const r = install(dir, true, ["shellcheck", "coturn"]);
        assert.equal(r.status, 0, r.out);
        const mask = r.calls.indexOf("systemctl mask coturn");
        const installCall = r.calls.findIndex((c) => c.startsWith("apt-get") && c.includes(" install "));
        assert.ok(mask >= 0, r.calls.join("\n"));
        assert.ok(installCall > mask, `coturn was installed before its service was masked:\n${r.calls.join("\n")}`);
        assert.match(r.calls[installCall], / coturn$/);
        assert.ok(!r.calls[installCall].includes("shellcheck"), "an installed package was installed again");
        assert.match(r.out, /Masking the coturn service: the tests start coturn themselves/);
    });

    it("leaves a masked service alone, and touches no service where systemd does not run", () => {
        const masked = install(dir, true, ["coturn"], true);
        assert.equal(masked.status, 0, masked.out);
        assert.ok(!masked.calls.some((c) => c.startsWith("systemctl mask")), masked.calls.join("\n"));
        fs.rmSync(path.join(dir, "calls.log"), { force: true });
        const noSystemd = install(dir, false, ["coturn"]);
        assert.equal(noSystemd.status, 0, noSystemd.out);
        assert.ok(!noSystemd.calls.some((c) => c.startsWith("systemctl")), noSystemd.calls.join("\n"));
        assert.ok(noSystemd.calls.some((c) => c.startsWith("apt-get") && c.endsWith(" coturn")));
    });
});
