/**
 * gimp-selkies' start script, run as a plain process with a stand-in `gimp` first on PATH: GIMP
 * restores the window state saved in the user's sessionrc, so the script is what keeps the window
 * maximised for a user who once quit GIMP unmaximised.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";

const SCRIPT = path.join(ROOT, "images/gimp-selkies/rootfs/usr/local/bin/streamspace-app");

const SAVED_SESSION = `(session-info "toplevel"
    (factory-entry "gimp-single-image-window")
    (position 40 30)
    (size 1024 768)
    (aux-info
        (left-docks-width "188")
        (maximized "no")))
(single-window-mode yes)
`;

describe("gimp-selkies: streamspace-app", () => {
    let home: string;
    let fakeBin: string;

    beforeEach(() => {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "streamspace-gimp-"));
        fakeBin = path.join(home, "bin");
        fs.mkdirSync(fakeBin);
        fs.writeFileSync(path.join(fakeBin, "gimp"), '#!/bin/bash\necho "gimp $*"\n', { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

    const run = () =>
        spawnSync(SCRIPT, [], {
            env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: home },
            encoding: "utf8",
            timeout: 10000,
        });
    const sessionrc = () => path.join(home, ".config/GIMP/2.10/sessionrc");

    it("switches a saved unmaximised window back to maximised and keeps the rest of the layout", () => {
        fs.mkdirSync(path.dirname(sessionrc()), { recursive: true });
        fs.writeFileSync(sessionrc(), SAVED_SESSION);
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout, "gimp --no-splash\n");
        const after = fs.readFileSync(sessionrc(), "utf8");
        assert.strictEqual(after, SAVED_SESSION.replace('(maximized "no")', '(maximized "yes")'));
        assert.match(r.stderr, /window maximised again/);
    });

    it("leaves a new user to the image's default session (creates no sessionrc)", () => {
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout, "gimp --no-splash\n");
        assert.ok(!fs.existsSync(sessionrc()));
    });
});
