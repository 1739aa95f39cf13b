/** .github/scripts/changed-images.ts: which images a pull request builds, and how. */
import { strict as assert } from "assert";
import * as path from "path";
import { affectedImages, dockerBuildCommand } from "../../.github/scripts/changed-images";
import { loadCatalog } from "../../catalog";
import { ROOT } from "../harness";

describe("changed-images: the images a pull request builds", () => {
    const catalog = loadCatalog(ROOT);
    const names = (files: string[]) => affectedImages(catalog, files).build.map((i) => i.name);
    const skipped = (files: string[]) => affectedImages(catalog, files).skipped.map((s) => s.name);

    it("a change in an application's folder builds that application and its LinuxServer flavour", () => {
        assert.deepEqual(names(["images/gimp-selkies/install.sh"]), ["gimp-selkies", "gimp-selkies-kasmvnc"]);
    });

    it("a change of the shared app.Dockerfile builds every application on it, not the flavours", () => {
        assert.deepEqual(names(["images/app.Dockerfile"]).sort(), ["blender-selkies", "chrome-selkies", "firefox-selkies", "gimp-selkies", "vscode-selkies"]);
        assert.deepEqual(names(["images/app.kasmvnc.Dockerfile"]).sort(), [
            "blender-selkies-kasmvnc",
            "chrome-selkies-kasmvnc",
            "firefox-selkies-kasmvnc",
            "gimp-selkies-kasmvnc",
            "vscode-selkies-kasmvnc",
        ]);
    });

    it("a change of the base rebuilds everything on it, bases first; files outside images/ build nothing", () => {
        const built = names(["images/selkies-base/rootfs/usr/local/bin/streamspace-init"]);
        assert.equal(built[0], "selkies-base");
        assert.ok(built.includes("chrome-selkies") && !built.includes("chrome-selkies-kasmvnc"), built.join(", "));
        assert.deepEqual(names(["README.md", "images/README.md"]), []);
        assert.deepEqual(skipped(["README.md"]), []);
    });

    it("builds an application with the shared Dockerfile and its own folder as the context", () => {
        const command = dockerBuildCommand(catalog.get("blender-selkies"), ROOT);
        assert.equal(command[command.indexOf("--file") + 1], path.join(ROOT, "images", "app.Dockerfile"));
        assert.equal(command[command.length - 1], path.join(ROOT, "images", "blender-selkies"));
        assert.ok(command.includes("APP_WINDOW=blender"), command.join(" "));
    });
});
