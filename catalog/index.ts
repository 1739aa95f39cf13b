import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LineCounter, parseDocument } from "yaml";
import { ImageApp, ImageBase, ImageMetadata, ImageOffline, ImagePlatform, ImagePort, METADATA_FILE, StreamingProtocol, metadataSchema } from "./metadata";

export * from "./metadata";

/** The repository root: the folder holding Pulumi.yaml. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * The shared Dockerfiles of applications (`app:` in image.yaml) whose folder has none, by streaming
 * protocol, relative to `images/`.
 */
export const APP_DOCKERFILES: Partial<Record<StreamingProtocol, string>> = { selkies: "app.Dockerfile", kasmvnc: "app.kasmvnc.Dockerfile" };
/** The shared Dockerfiles, as the catalog's messages name them. */
const APP_DOCKERFILE_PATHS = Object.values(APP_DOCKERFILES)
    .map((f) => `images/${f}`)
    .join(" or ");

/** One buildable image of the catalog: an image folder, or a variant declared in its metadata. */
export interface CatalogImage {
    name: string;
    /** Folder relative to the repository root, e.g. `images/chrome-selkies`. */
    folder: string;
    /** The Dockerfile, relative to the folder: one of its own, or a shared one (`../app.Dockerfile`). */
    dockerfile: string;
    /** Metadata file relative to the repository root. */
    metadataFile: string;
    /** Set on variants: the app image they are a flavour of. */
    variantOf?: string;
    title: string;
    description: string;
    version: string;
    kind: ImageMetadata["kind"];
    category: string;
    base: ImageBase;
    platforms: ImagePlatform[];
    ports: ImagePort[];
    gpu: ImageMetadata["gpu"];
    streamingProtocol: StreamingProtocol;
    license: string;
    icon?: string;
    tags: string[];
    resources?: { cpu: string; memory: string };
    /** Set on applications: their settings for the shared Dockerfiles. */
    app?: ImageApp;
    /** How a build that reaches only Debian's archive, PyPI and npm differs. */
    offline?: ImageOffline;
    /** Names of the variants of this image (on app images only). */
    variants: string[];
    /** A variant's position in its image's `variants` list (variants only). */
    variantIndex?: number;
}

export interface Catalog {
    /** Every image, bases before the images built on them. */
    images: CatalogImage[];
    get(name: string): CatalogImage;
    /** The image and every catalog base below it, base first. */
    chain(name: string): CatalogImage[];
}

/** A malformed catalog: every problem names the file, the line where known, and the field. */
export class CatalogError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(
            `The image catalog has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was created or changed:\n` +
                problems.map((p, i) => `  ${i + 1}. ${p}`).join("\n"),
        );
        this.name = "CatalogError";
    }
}

/** The line of a field of a metadata file, by its path (`["ports", 1]`); undefined where the file lacks it. */
type LineOf = (path: (string | number)[]) => number | undefined;

/** Where a checked image's field is written: `<file>:<line>`, or the file where the field is inherited or absent. */
type Locate = (image: CatalogImage, path: (string | number)[]) => string;

function readMetadata(root: string, folder: string, problems: string[]): { meta: ImageMetadata; lineOf: LineOf } | undefined {
    const rel = path.join("images", folder, METADATA_FILE);
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) {
        problems.push(`${rel}: missing. Every folder under images/ needs its metadata file (see images/README.md, "Adding an image").`);
        return undefined;
    }
    const lineCounter = new LineCounter();
    const doc = parseDocument(fs.readFileSync(file, "utf8"), { lineCounter, prettyErrors: false });
    if (doc.errors.length > 0) {
        for (const e of doc.errors) {
            const { line, col } = lineCounter.linePos(e.pos[0]);
            problems.push(`${rel}:${line}:${col}: not valid YAML: ${e.message.split("\n")[0]}`);
        }
        return undefined;
    }
    const result = metadataSchema.safeParse(doc.toJS());
    if (!result.success) {
        for (const issue of result.error.issues) {
            const field = issue.path.join(".") || "(top level)";
            let where = rel;
            const node = issue.path.length > 0 ? doc.getIn(issue.path, true) : undefined;
            const range = (node as { range?: [number, number, number] } | undefined)?.range;
            if (range) where += `:${lineCounter.linePos(range[0]).line}`;
            const message =
                issue.code === "unrecognized_keys"
                    ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}; the fields are listed in images/README.md`
                    : issue.message === "Required"
                      ? "missing; this field is required"
                      : issue.message;
            problems.push(`${where}: field '${field}': ${message}`);
        }
        return undefined;
    }
    const lineOf: LineOf = (fieldPath) => {
        const range = (doc.getIn(fieldPath, true) as { range?: [number, number, number] } | undefined)?.range;
        return range ? lineCounter.linePos(range[0]).line : undefined;
    };
    return { meta: result.data, lineOf };
}

function portClashes(image: CatalogImage, problems: string[], locate: Locate): void {
    const byNumber = new Map<string, string>();
    const names = new Set<string>();
    for (const [i, p] of image.ports.entries()) {
        const key = `${p.port}/${p.protocol}`;
        const where = locate(image, ["ports", i]);
        if (byNumber.has(key)) {
            problems.push(`${where}: image '${image.name}': port ${key} is declared twice ('${byNumber.get(key)}' and '${p.name}')`);
        }
        if (names.has(p.name)) problems.push(`${where}: image '${image.name}': port name '${p.name}' is used twice`);
        byNumber.set(key, p.name);
        names.add(p.name);
    }
}

/** Reads and checks every `images/<name>/image.yaml`; throws CatalogError listing every problem. */
export function loadCatalog(root: string = REPO_ROOT): Catalog {
    const problems: string[] = [];
    const folders = fs
        .readdirSync(path.join(root, "images"), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    const lines = new Map<CatalogImage, LineOf>();
    const images = folders.flatMap((folder) => imagesOfFolder(root, folder, problems, lines));
    // A variant's field is under variants[i] where the variant sets it, else inherited from the top.
    const locate: Locate = (image, fieldPath) => {
        const lineOf = lines.get(image);
        const variant = image.variantOf ? image.variantIndex : undefined;
        const line = (variant !== undefined ? lineOf?.(["variants", variant, ...fieldPath]) : undefined) ?? lineOf?.(fieldPath);
        return line ? `${image.metadataFile}:${line}` : image.metadataFile;
    };
    const byName = new Map<string, CatalogImage>();
    for (const image of images) {
        const other = byName.get(image.name);
        if (other) {
            problems.push(`${locate(image, ["name"])}: image name '${image.name}' is also used by ${other.metadataFile}; names must be unique`);
        }
        byName.set(image.name, image);
        portClashes(image, problems, locate);
    }
    for (const image of images) checkBase(image, byName, problems, locate);
    const ordered = basesFirst(images, byName, problems, locate);

    if (problems.length > 0) throw new CatalogError(problems);
    return {
        images: ordered,
        get(name) {
            const image = byName.get(name);
            if (!image) throw new Error(`unknown image '${name}'; the catalog has: ${[...byName.keys()].join(", ")}`);
            return image;
        },
        chain(name) {
            const chain: CatalogImage[] = [];
            for (let image: CatalogImage | undefined = this.get(name); image; ) {
                chain.unshift(image);
                image = "image" in image.base ? byName.get(image.base.image) : undefined;
            }
            return chain;
        },
    };
}

/** The image of one folder and the variants its metadata names, checked as they are read. */
function imagesOfFolder(root: string, folder: string, problems: string[], lines: Map<CatalogImage, LineOf>): CatalogImage[] {
    const images: CatalogImage[] = [];
    const read = readMetadata(root, folder, problems);
    if (!read) return [];
    const { meta, lineOf } = read;
    const metadataFile = path.join("images", folder, METADATA_FILE);
    const at = (fieldPath: (string | number)[]) => {
        const line = lineOf(fieldPath);
        return line ? `${metadataFile}:${line}` : metadataFile;
    };
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(folder)) {
        problems.push(`images/${folder}: folder names are image names: lowercase letters, digits and single hyphens`);
    }
    const own = (file: string) => fs.existsSync(path.join(root, "images", folder, file));
    /** A Dockerfile of the folder, else the shared one of the protocol for an app, else none. */
    const dockerfileFor = (protocol: StreamingProtocol): string | undefined => {
        if (own("Dockerfile")) return "Dockerfile";
        const shared = APP_DOCKERFILES[protocol];
        return meta.app && shared ? `../${shared}` : undefined;
    };
    const dockerfile = dockerfileFor(meta.streamingProtocol);
    if (!dockerfile) {
        problems.push(`images/${folder}/Dockerfile: missing (an application on ${APP_DOCKERFILE_PATHS} declares \`app:\` in ${METADATA_FILE} instead)`);
    }
    const image: CatalogImage = {
        name: folder,
        folder: path.join("images", folder),
        dockerfile: dockerfile ?? "Dockerfile",
        metadataFile,
        title: meta.title,
        description: meta.description,
        version: meta.version,
        kind: meta.kind,
        category: meta.category,
        base: meta.base,
        platforms: meta.platforms,
        ports: meta.ports,
        gpu: meta.gpu,
        streamingProtocol: meta.streamingProtocol,
        license: meta.license,
        icon: meta.icon,
        tags: meta.tags,
        resources: meta.resources,
        app: meta.app,
        offline: meta.offline,
        variants: meta.variants.map((v) => `${folder}-${v.name}`),
    };
    images.push(image);
    for (const [i, v] of meta.variants.entries()) {
        if (v.dockerfile !== undefined && !own(v.dockerfile)) {
            problems.push(`${at(["variants", i, "dockerfile"])}: variant '${v.name}': ${path.join("images", folder, v.dockerfile)} is missing`);
        }
        const variantDockerfile = v.dockerfile ?? dockerfileFor(v.streamingProtocol);
        if (!variantDockerfile) {
            problems.push(`${at(["variants", i])}: variant '${v.name}': no Dockerfile (name one with \`dockerfile:\`, or declare \`app:\` for ${APP_DOCKERFILE_PATHS})`);
        }
        images.push({
            ...image,
            name: `${folder}-${v.name}`,
            dockerfile: variantDockerfile ?? "Dockerfile",
            variantOf: folder,
            variantIndex: i,
            title: v.title ?? `${meta.title} (${v.name})`,
            description: v.description ?? meta.description,
            base: v.base,
            platforms: v.platforms ?? meta.platforms,
            ports: v.ports,
            streamingProtocol: v.streamingProtocol,
            app: meta.app && { ...meta.app, platformInstall: {} },
            offline: undefined,
            variants: [],
        });
    }
    for (const each of images) lines.set(each, lineOf);
    return images;
}

/** An image built on a catalog base names a base image that exists and builds its platforms. */
function checkBase(image: CatalogImage, byName: Map<string, CatalogImage>, problems: string[], locate: Locate): void {
    if (!("image" in image.base)) return;
    const base = byName.get(image.base.image);
    if (!base) {
        problems.push(
            `${locate(image, ["base", "image"])}: field 'base.image': unknown catalog image '${image.base.image}'${image.variantOf ? ` (variant '${image.name}')` : ""}; the catalog has: ${[...byName.keys()].join(", ")}`,
        );
    } else if (base.kind !== "base") {
        problems.push(`${locate(image, ["base", "image"])}: field 'base.image': '${base.name}' is not a base image (its kind is '${base.kind}')`);
    } else {
        for (const [i, p] of image.platforms.entries()) {
            if (!base.platforms.includes(p)) {
                problems.push(`${locate(image, ["platforms", i])}: platform ${p} is not built for its base '${base.name}' (${base.metadataFile})`);
            }
        }
    }
}

/** The images with every base before the images built on it; a cycle is a problem. */
function basesFirst(images: CatalogImage[], byName: Map<string, CatalogImage>, problems: string[], locate: Locate): CatalogImage[] {
    const ordered: CatalogImage[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (image: CatalogImage, trail: string[]): void => {
        if (state.get(image.name) === "done") return;
        if (state.get(image.name) === "visiting") {
            problems.push(`${locate(image, ["base", "image"])}: base images form a cycle: ${[...trail, image.name].join(" -> ")}`);
            return;
        }
        state.set(image.name, "visiting");
        if ("image" in image.base) {
            const base = byName.get(image.base.image);
            if (base) visit(base, [...trail, image.name]);
        }
        state.set(image.name, "done");
        ordered.push(image);
    };
    for (const image of images) visit(image, []);
    return ordered;
}

export interface SourceInfo {
    /** The last commit that changed the image's folder: its revision label. */
    revision: string;
    /** That commit's date, ISO 8601: the image's created label (a date of the source, never of the build). */
    created: string;
}

/**
 * Revision and date of the last commit touching an image's sources (`sourcePaths`: its folder, and
 * a shared Dockerfile). Tied to them, not to HEAD, so a commit elsewhere leaves the image's build
 * inputs unchanged and the image is not rebuilt.
 */
export function sourceInfo(paths: string | readonly string[], root: string = REPO_ROOT): SourceInfo {
    try {
        const out = execFileSync("git", ["log", "-1", "--format=%H %cI", "--", ...(typeof paths === "string" ? [paths] : paths)], {
            cwd: root,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        const [revision, created] = out.split(" ");
        if (revision && created) return { revision, created };
    } catch {
        // Not a git checkout (an exported tarball): fall through to the stable placeholder.
    }
    return { revision: "unknown", created: "1970-01-01T00:00:00Z" };
}

/** What an image is built from, relative to the repository root: its folder, and a shared Dockerfile outside it. */
export function sourcePaths(image: Pick<CatalogImage, "folder" | "dockerfile">): string[] {
    const dockerfile = path.join(image.folder, image.dockerfile);
    return dockerfile.startsWith(`${image.folder}${path.sep}`) ? [image.folder] : [image.folder, dockerfile];
}

/** The repository address from package.json: the source label of every image. */
export function sourceUrl(root: string = REPO_ROOT): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { repository?: { url?: string } | string };
    const url = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
    return (url ?? "").replace(/^git\+/, "").replace(/\.git$/, "");
}

export interface BuildArgsOptions {
    platform: ImagePlatform;
    /** The base image reference: the catalog base's digest, or the external reference from metadata. */
    baseImage: string;
    source: SourceInfo;
    sourceUrl: string;
    /** A build that reaches only Debian's archive, PyPI and npm: `offline.install` wins. */
    offline?: boolean;
}

/**
 * The settings an application's install.sh gets on a platform, as `KEY=VALUE` words in key order:
 * image.yaml's `app.platformInstall`, and for an offline build its `offline.install` over them.
 */
export function installSettings(image: CatalogImage, platform: ImagePlatform, offline = false): string {
    const settings: Record<string, string> = { ...(image.app?.platformInstall[platform] ?? {}) };
    if (offline && image.offline && "install" in image.offline) Object.assign(settings, image.offline.install);
    return Object.keys(settings)
        .sort()
        .map((k) => `${k}=${settings[k]}`)
        .join(" ");
}

/** What the shared Dockerfiles of an application read: its window, its name and its install settings. */
function appBuildArgs(image: CatalogImage, platform: ImagePlatform, offline: boolean): Record<string, string> {
    if (!image.app) return {};
    return {
        ...(image.streamingProtocol === "selkies" ? { APP_WINDOW: image.app.windowClass } : {}),
        APP_NAME: image.app.name,
        APP_INSTALL_ENV: installSettings(image, platform, offline),
    };
}

/**
 * Build arguments of an image. The OCI labels are declared in each Dockerfile from these
 * arguments, so the metadata file stays their single source. Everything here is a function of the
 * metadata, the platform, the base and the folder's last commit: no clock, no randomness.
 */
export function buildArgs(image: CatalogImage, opts: BuildArgsOptions): Record<string, string> {
    return {
        BASE_IMAGE: opts.baseImage,
        OCI_TITLE: image.title,
        OCI_DESCRIPTION: image.description,
        OCI_VERSION: image.version,
        OCI_REVISION: opts.source.revision,
        OCI_CREATED: opts.source.created,
        OCI_SOURCE: opts.sourceUrl,
        OCI_URL: opts.sourceUrl,
        OCI_DOCUMENTATION: `${opts.sourceUrl}/tree/main/${image.folder}`,
        OCI_VENDOR: "StreamSpace",
        OCI_LICENSES: image.license,
        ...appBuildArgs(image, opts.platform, opts.offline ?? false),
    };
}

/**
 * A digest of an image folder's files (names and contents, in a fixed order), honouring nothing
 * but the folder itself. Used where no registry digest exists (builds that are not pushed) so that
 * a change of a base still reaches the images built on it.
 */
export function treeHash(folder: string, root: string = REPO_ROOT): string {
    const hash = createHash("sha256");
    const walk = (rel: string): void => {
        const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
        for (const e of entries) {
            const child = path.join(rel, e.name);
            if (e.isDirectory()) walk(child);
            else if (e.isFile()) {
                hash.update(`${path.relative(folder, child)}\0`);
                hash.update(fs.readFileSync(path.join(root, child)));
                hash.update("\0");
            } else if (e.isSymbolicLink()) {
                hash.update(`${path.relative(folder, child)}\0->${fs.readlinkSync(path.join(root, child))}\0`);
            }
        }
    };
    walk(folder);
    return hash.digest("hex");
}

export interface Selection {
    /** Images to build, bases first. */
    images: CatalogImage[];
    /** Images left out because they are not built for the platform, with the reason. */
    skipped: { name: string; reason: string }[];
}

/**
 * The images a stack builds: every image (when `names` is empty) or the named ones, each with the
 * catalog bases below it. Images not built for the target platform are left out when they were not
 * asked for by name; naming one is an error the caller reports.
 */
export function selectImages(catalog: Catalog, names: readonly string[], platform: ImagePlatform): Selection & { unbuildable: string[] } {
    const wanted = names.length === 0 ? catalog.images.map((i) => i.name) : [...names];
    const chosen = new Set<string>();
    const skipped: Selection["skipped"] = [];
    const unbuildable: string[] = [];
    for (const name of wanted) {
        const chain = catalog.chain(name);
        const missing = chain.find((i) => !i.platforms.includes(platform));
        if (missing) {
            const reason = `${missing.name} is built for ${missing.platforms.join(", ")} only (${missing.metadataFile})`;
            if (names.length === 0) skipped.push({ name, reason });
            else unbuildable.push(`${name}: ${reason}`);
            continue;
        }
        for (const i of chain) chosen.add(i.name);
    }
    return { images: catalog.images.filter((i) => chosen.has(i.name)), skipped, unbuildable };
}

/**
 * True in a shallow git clone (CI checkouts by default), where the last commit of a folder cannot
 * be known: every image would get the newest commit as its revision and be rebuilt every time.
 */
export function isShallowClone(root: string = REPO_ROOT): boolean {
    try {
        return (
            execFileSync("git", ["rev-parse", "--is-shallow-repository"], {
                cwd: root,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
            }).trim() === "true"
        );
    } catch {
        return false;
    }
}
