// Which catalog images a pull request touches, and how CI builds them without pushing.
//
//   changed-images.ts list <base-commit>    JSON list of the images to build: those whose folder
//                                           or shared Dockerfile changed since <base-commit>, and
//                                           every image built on one of them, bases first
//   changed-images.ts build-bases <image>   builds the catalog bases of <image> into the local
//                                           Docker image store, bases first (--dry-run prints)
//   changed-images.ts build-args <image>    the build arguments of <image>, one KEY=VALUE a line
//
// Build arguments come from the catalog's buildArgs(), the function the Pulumi program uses, so a
// pull request builds each image exactly as `pulumi up` would, for the runner's platform.
import { execFileSync } from "child_process";
import * as path from "path";
import { Catalog, CatalogImage, ImagePlatform, REPO_ROOT, buildArgs, loadCatalog, sourceInfo, sourcePaths, sourceUrl } from "../../catalog";

/** Pull-request runners build for their own platform only. */
export const CI_PLATFORM: ImagePlatform = "linux/amd64";

/** The tag a base is built under in CI, for the images built on it to use as BASE_IMAGE. */
export function localTag(name: string): string {
    return `streamspace-ci/${name}:build`;
}

export interface Affected {
    /** Images to build, bases first. */
    build: CatalogImage[];
    /** Affected images the runner's platform cannot build, with the reason. */
    skipped: { name: string; reason: string }[];
}

/** The images whose folder or shared Dockerfile holds a changed file, and every image built on one of them. */
export function affectedImages(catalog: Catalog, changedFiles: readonly string[], platform: ImagePlatform = CI_PLATFORM): Affected {
    const slash = (p: string) => p.split(path.sep).join("/");
    const under = (file: string, source: string) => slash(file) === slash(source) || slash(file).startsWith(`${slash(source)}/`);
    const changed = new Set(catalog.images.filter((i) => changedFiles.some((f) => sourcePaths(i).some((s) => under(f, s)))).map((i) => i.name));
    const affected = catalog.images.filter((i) => catalog.chain(i.name).some((link) => changed.has(link.name)));
    const result: Affected = { build: [], skipped: [] };
    for (const image of affected) {
        if (image.platforms.includes(platform)) result.build.push(image);
        else result.skipped.push({ name: image.name, reason: `built for ${image.platforms.join(", ")} only` });
    }
    return result;
}

/** The build arguments of an image in CI: the catalog's, with a catalog base taken from the local store. */
export function ciBuildArgs(image: CatalogImage, root: string = REPO_ROOT): Record<string, string> {
    const baseImage = "external" in image.base ? image.base.external : localTag(image.base.image);
    return buildArgs(image, { platform: CI_PLATFORM, baseImage, source: sourceInfo(sourcePaths(image), root), sourceUrl: sourceUrl(root) });
}

/** The `docker build` arguments that build one image into the local store. */
export function dockerBuildCommand(image: CatalogImage, root: string = REPO_ROOT): string[] {
    const args = ["build", "--platform", CI_PLATFORM, "--file", path.join(root, image.folder, image.dockerfile), "--tag", localTag(image.name)];
    for (const [key, value] of Object.entries(ciBuildArgs(image, root))) args.push("--build-arg", `${key}=${value}`);
    args.push(path.join(root, image.folder));
    return args;
}

function changedFilesSince(base: string): string[] {
    const out = execFileSync("git", ["diff", "--name-only", base, "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" });
    return out.split("\n").filter((l) => l !== "");
}

function main(argv: string[]): void {
    const [command, arg, ...flags] = argv;
    const catalog = loadCatalog();
    switch (command) {
        case "list": {
            if (!arg) throw new Error("usage: changed-images.ts list <base-commit>");
            const { build, skipped } = affectedImages(catalog, changedFilesSince(arg));
            for (const s of skipped) process.stderr.write(`skipping ${s.name}: ${s.reason}\n`);
            process.stderr.write(build.length > 0 ? `images to build: ${build.map((i) => i.name).join(", ")}\n` : "no image changed\n");
            process.stdout.write(`${JSON.stringify(build.map((i) => i.name))}\n`);
            return;
        }
        case "build-bases": {
            const chain = catalog.chain(arg).slice(0, -1);
            for (const base of chain) {
                const args = dockerBuildCommand(base);
                if (flags.includes("--dry-run")) process.stdout.write(`docker ${args.join(" ")}\n`);
                else execFileSync("docker", args, { stdio: "inherit" });
            }
            return;
        }
        case "build-args": {
            for (const [key, value] of Object.entries(ciBuildArgs(catalog.get(arg)))) process.stdout.write(`${key}=${value}\n`);
            return;
        }
        default:
            throw new Error("usage: changed-images.ts list <base-commit> | build-bases <image> [--dry-run] | build-args <image>");
    }
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exit(1);
    }
}
