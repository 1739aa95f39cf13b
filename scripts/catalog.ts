/**
 * The image catalog for shell scripts, so they build with exactly the arguments the Pulumi program
 * passes. Run with: node -r ts-node/register/transpile-only scripts/catalog.ts <command> ...
 *
 *   order [--platform p]                         image names, bases before the images built on them
 *   build-args <image> [--platform p] [--base-image ref] [--offline]
 *                                                KEY=VALUE lines: BASE_IMAGE, OCI_* and an app's APP_*;
 *                                                --offline: with image.yaml's offline install settings
 *   context <image>                              "<folder> <dockerfile>" relative to the repository root
 *   base <image>                                 the catalog base's name, or "external <reference>"
 *   template-env <image>                         KEY=VALUE lines: the env of the image's StreamSpace Template
 *   offline                                      "<image><TAB>needs-internet|leaves-out<TAB><why or what>" lines:
 *                                                how an offline build differs, from image.yaml's offline
 *
 * Exit status 2 on a usage error, 1 on a catalog error; messages go to stderr.
 */
import { CatalogImage, ImagePlatform, loadCatalog, buildArgs, sourceInfo, sourcePaths, sourceUrl } from "../catalog";
import { hasTemplate, templateFor } from "../components/streamspaceTemplates";

const PLATFORMS: readonly ImagePlatform[] = ["linux/amd64", "linux/arm64"];

class UsageError extends Error {}

interface Options {
    positional: string[];
    platform: ImagePlatform;
    baseImage?: string;
    offline: boolean;
}

function parseOptions(argv: string[]): Options {
    const positional: string[] = [];
    let platform: ImagePlatform = "linux/amd64";
    let baseImage: string | undefined;
    let offline = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const [flag, inline] = arg.startsWith("--") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
        const value = (): string => {
            const v = inline ?? argv[++i];
            if (v === undefined || v === "") throw new UsageError(`${flag} needs a value`);
            return v;
        };
        if (flag === "--platform") {
            const p = value();
            if (!PLATFORMS.includes(p as ImagePlatform)) throw new UsageError(`--platform ${p}: expected one of ${PLATFORMS.join(", ")}`);
            platform = p as ImagePlatform;
        } else if (flag === "--base-image") {
            baseImage = value();
        } else if (flag === "--offline" && inline === undefined) {
            offline = true;
        } else if (flag.startsWith("--")) {
            throw new UsageError(`unknown option ${flag}`);
        } else {
            positional.push(arg);
        }
    }
    return { positional, platform, baseImage, offline };
}

function baseReference(image: CatalogImage, given: string | undefined): string {
    if (given) return given;
    if ("external" in image.base) return image.base.external;
    throw new UsageError(
        `${image.name} is built on the catalog image '${image.base.image}': pass --base-image with the reference you built it as, e.g. --base-image localhost/streamspace/${image.base.image}:local`,
    );
}

function run(argv: string[]): string[] {
    const [command, ...rest] = argv;
    const opts = parseOptions(rest);
    const catalog = loadCatalog();
    const imageArg = (): CatalogImage => {
        if (opts.positional.length !== 1) throw new UsageError(`${command} takes exactly one image name`);
        try {
            return catalog.get(opts.positional[0]);
        } catch (e) {
            throw new UsageError((e as Error).message);
        }
    };
    switch (command) {
        case "order":
            return catalog.images.filter((i) => i.platforms.includes(opts.platform)).map((i) => i.name);
        case "build-args": {
            const image = imageArg();
            const args = buildArgs(image, {
                platform: opts.platform,
                baseImage: baseReference(image, opts.baseImage),
                source: sourceInfo(sourcePaths(image)),
                sourceUrl: sourceUrl(),
                offline: opts.offline,
            });
            return Object.entries(args).map(([k, v]) => `${k}=${v}`);
        }
        case "context": {
            const image = imageArg();
            return [`${image.folder} ${image.dockerfile}`];
        }
        case "base": {
            const image = imageArg();
            return ["external" in image.base ? `external ${image.base.external}` : image.base.image];
        }
        case "template-env": {
            const image = imageArg();
            if (!hasTemplate(image)) throw new UsageError(`${image.name} is a ${image.kind} image: it has no StreamSpace Template`);
            return templateFor(image, { baseImage: image.name, namespace: "streamspace", sourceUrl: sourceUrl() }).spec.env.map((e) => `${e.name}=${e.value}`);
        }
        case "offline":
            if (opts.positional.length !== 0) throw new UsageError("offline takes no image name");
            return catalog.images.flatMap((i) =>
                !i.offline ? [] : "needsInternet" in i.offline ? [`${i.name}\tneeds-internet\t${i.offline.needsInternet}`] : [`${i.name}\tleaves-out\t${i.offline.leavesOut}`],
            );
        default:
            throw new UsageError(`unknown command '${command ?? ""}'; commands: order, build-args, context, base, template-env, offline`);
    }
}

if (require.main === module) {
    try {
        for (const line of run(process.argv.slice(2))) process.stdout.write(`${line}\n`);
    } catch (e) {
        process.stderr.write(`catalog: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    }
}

export { run as runCatalogCommand, UsageError };
