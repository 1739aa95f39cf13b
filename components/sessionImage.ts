import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BuildArgsOptions, CatalogImage, REPO_ROOT, SourceInfo, buildArgs, treeHash } from "../catalog";
import { Platform } from "../config/images";
import { RegistryConfig } from "../config/registry";

/** An image the program uses: built here (SessionImage) or taken prebuilt (`prebuiltImages`). */
export interface PublishedImage {
    /** The reference it is pushed under (tag), or the prebuilt reference. */
    readonly imageName: pulumi.Output<string>;
    /** `<server>/<owner>/<name>@sha256:...`; for a build that is not pushed, the local tag. */
    readonly repoDigest: pulumi.Output<string>;
    /** The image folder, relative to the repository root. */
    readonly folder: string;
    /** Published elsewhere and pinned by digest: nothing here builds it. */
    readonly prebuilt: boolean;
}

/** A prebuilt image: a reference pinned by digest, used as it is. */
export function prebuiltImage(image: CatalogImage, reference: string): PublishedImage {
    return { imageName: pulumi.output(reference), repoDigest: pulumi.output(reference), folder: image.folder, prebuilt: true };
}

/**
 * The build arguments of one image: a plain map whose only value that may be unknown is
 * BASE_IMAGE (the base's digest, unknown in a preview before the base is pushed). The Docker
 * provider cannot check a map that is itself unknown, so the map must never be one Output.
 */
export function imageBuildArgs(
    image: CatalogImage,
    opts: Omit<BuildArgsOptions, "baseImage"> & { baseImage: pulumi.Input<string>; extra?: Record<string, string> },
): Record<string, pulumi.Input<string>> {
    const { baseImage, extra, ...rest } = opts;
    return { ...buildArgs(image, { ...rest, baseImage: "" }), ...(extra ?? {}), BASE_IMAGE: baseImage };
}

/** The registry an image is pushed to, as its build sees it: the token only where one is needed. */
export type RegistryLogin = Pick<RegistryConfig, "server" | "owner" | "username"> & { token?: pulumi.Input<string> };

/** `<server>/<owner>/<name>`: the repository an image is pushed to, without tag. */
export function imageRepository(registry: Pick<RegistryConfig, "server" | "owner">, image: CatalogImage): string {
    return `${registry.server}/${registry.owner}/${image.name}`;
}

/** Every tag an image is pushed under, the main one first and none twice. */
export function imageTags(tag: string, extraTags: readonly string[] = []): string[] {
    return [tag, ...extraTags.filter((t) => t !== tag)];
}

/** The tags a release stack pushes besides its own: the metadata version and `latest`. */
export function releaseTags(image: CatalogImage): string[] {
    return [image.version, "latest"];
}

/** A catalog base as an image built on it sees it: plain values or Outputs. */
export interface BaseReference {
    imageName: pulumi.Input<string>;
    repoDigest: pulumi.Input<string>;
    folder: string;
    prebuilt: boolean;
}

/**
 * What an image is built FROM: its external reference, or its catalog base's digest. A base built
 * here and not pushed has no digest: its tag is used, and the digest of its files (`treeHash`)
 * goes into the build arguments, so a change of the base still rebuilds the images on it.
 */
export function baseImageOf(
    image: CatalogImage,
    base: BaseReference | undefined,
    push: boolean,
    root: string,
): { reference: pulumi.Input<string>; treeHash?: string } {
    if ("external" in image.base) return { reference: image.base.external };
    if (!base) throw new Error(`SessionImage ${image.name}: its base '${image.base.image}' must be passed as args.base`);
    if (push || base.prebuilt) return { reference: base.repoDigest };
    return { reference: base.imageName, treeHash: treeHash(base.folder, root) };
}

export interface ImageInputsArgs {
    image: CatalogImage;
    registry: RegistryLogin;
    tag: string;
    platform: Platform;
    push: boolean;
    /** Build during `pulumi preview` too; off by default. */
    buildOnPreview?: boolean;
    /** What the image is built FROM, as `baseImageOf` gives it. */
    base: { reference: pulumi.Input<string>; treeHash?: string };
    source: SourceInfo;
    sourceUrl: string;
    /** Repository root the image folder is relative to. */
    root: string;
    /** The directory Pulumi runs the program in: build paths are relative to it. */
    cwd: string;
}

/**
 * The inputs of one image's `docker.Image`: `<repository>:<tag>`, the build from its folder with
 * the build arguments of `imageBuildArgs`, and the registry login where the registry needs one.
 */
export function sessionImageInputs(args: ImageInputsArgs): docker.ImageArgs {
    const { image, registry, push } = args;
    const reference = `${imageRepository(registry, image)}:${args.tag}`;
    const extra: Record<string, string> = {};
    if (args.base.treeHash !== undefined) extra.BASE_TREE_HASH = args.base.treeHash;
    // cacheFrom reuses layers only of images that carry BuildKit's inline cache metadata.
    if (push) extra.BUILDKIT_INLINE_CACHE = "1";
    return {
        imageName: reference,
        build: {
            // Relative to the project directory Pulumi runs in: identical on every machine.
            context: path.relative(args.cwd, path.join(args.root, image.folder)) || ".",
            dockerfile: path.relative(args.cwd, path.join(args.root, image.folder, image.dockerfile)),
            platform: args.platform,
            args: imageBuildArgs(image, {
                platform: args.platform,
                baseImage: args.base.reference,
                source: args.source,
                sourceUrl: args.sourceUrl,
                extra,
            }),
            builderVersion: "BuilderBuildKit",
            ...(push ? { cacheFrom: { images: [reference] } } : {}),
        },
        registry: registry.token ? { server: registry.server, username: registry.username, password: registry.token } : undefined,
        skipPush: !push,
        buildOnPreview: args.buildOnPreview ?? false,
    };
}

/** The Tag that points `<repository>:<tag>` at the pushed digest. */
export function extraTagInputs(repository: string, tag: string, digest: pulumi.Input<string>): docker.TagArgs {
    return { sourceImage: digest, targetImage: `${repository}:${tag}` };
}

/** Pushes a tag and keeps it in the registry when the stack is destroyed; a new digest pushes it again. */
export function keptTagInputs(name: pulumi.Input<string>, digest: pulumi.Input<string>): docker.RegistryImageArgs {
    return { name, keepRemotely: true, triggers: { digest } };
}

/** The Docker provider that pushes extra tags: the registry's credentials where it needs any. */
export function tagProviderInputs(registry: RegistryLogin): docker.ProviderArgs {
    return { registryAuth: registry.token ? [{ address: registry.server, username: registry.username, password: registry.token }] : [] };
}

export interface SessionImageArgs {
    /** The catalog entry to build. */
    image: CatalogImage;
    registry: RegistryConfig;
    /** The tag the image is built and pushed under. */
    tag: string;
    /** Further tags pushed for the same digest (release stacks: the metadata version and `latest`). */
    extraTags?: string[];
    platform: Platform;
    /** Push to the registry; off builds locally only. */
    push: boolean;
    /** Build during `pulumi preview` too (off by default: previews stay fast and need no Docker). */
    buildOnPreview?: boolean;
    /** The catalog image this one is built FROM, when its base is in the catalog. */
    base?: PublishedImage;
    /** Last commit of the image folder (revision and created labels). */
    source: SourceInfo;
    /** Repository address for the source/url/documentation labels. */
    sourceUrl: string;
    /** Repository root the image folder is relative to. */
    root?: string;
    /** Docker provider carrying registry credentials, for pushing extra tags. */
    tagProvider?: docker.Provider;
}

/**
 * One catalog image built with `docker.Image` and pushed as `<server>/<owner>/<name>:<tag>`.
 * Every build input is derived from the metadata, the folder's last commit and the base's digest,
 * so an untouched image is not rebuilt and a changed base rebuilds the images on it.
 */
export class SessionImage extends pulumi.ComponentResource implements PublishedImage {
    /** `<server>/<owner>/<name>:<tag>`. */
    public readonly imageName: pulumi.Output<string>;
    /** `<server>/<owner>/<name>@sha256:...` when pushed; the tag when built locally only. */
    public readonly repoDigest: pulumi.Output<string>;
    /** The repository without tag, `<server>/<owner>/<name>`. */
    public readonly repository: string;
    /** Every tag pushed, the main one first. */
    public readonly tags: string[];
    /** The image folder, relative to the repository root. */
    public readonly folder: string;
    public readonly prebuilt = false;

    constructor(name: string, args: SessionImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:images:SessionImage", name, {}, opts);
        const root = args.root ?? REPO_ROOT;
        const { image, registry } = args;
        this.folder = image.folder;
        this.repository = imageRepository(registry, image);
        this.tags = imageTags(args.tag, args.extraTags);

        const built = new docker.Image(
            name,
            sessionImageInputs({
                image,
                registry,
                tag: args.tag,
                platform: args.platform,
                push: args.push,
                buildOnPreview: args.buildOnPreview,
                base: baseImageOf(image, args.base, args.push, root),
                source: args.source,
                sourceUrl: args.sourceUrl,
                root,
                cwd: process.cwd(),
            }),
            { parent: this },
        );

        this.imageName = built.imageName;
        this.repoDigest = args.push ? built.repoDigest : built.imageName;

        if (args.push) {
            for (const extra of this.tags.slice(1)) {
                const tag = new docker.Tag(`${name}-${extra}`, extraTagInputs(this.repository, extra, built.repoDigest), {
                    parent: this,
                    provider: args.tagProvider,
                });
                new docker.RegistryImage(`${name}-${extra}`, keptTagInputs(tag.targetImage, built.repoDigest), {
                    parent: this,
                    provider: args.tagProvider,
                });
            }
        }

        this.registerOutputs({ imageName: this.imageName, repoDigest: this.repoDigest });
    }

    /**
     * Builds every catalog image in order, each child with its base's digest. With `release` (and
     * push), each image also gets its metadata version and `latest`, tagged through one Docker
     * provider that carries the registry's credentials.
     */
    static buildAll(
        images: CatalogImage[],
        common: Omit<SessionImageArgs, "image" | "base" | "source" | "extraTags" | "tagProvider"> & {
            source: (image: CatalogImage) => SourceInfo;
            /** Also push the metadata version and `latest` (release stacks). */
            release: boolean;
            /** Images not built but taken as published: name to a reference pinned by digest. */
            prebuilt?: Record<string, string>;
        },
        opts?: pulumi.ComponentResourceOptions,
    ): Map<string, PublishedImage> {
        const { release, prebuilt = {}, ...args } = common;
        const tagged = release && common.push;
        const tagProvider = tagged ? new docker.Provider("registry", tagProviderInputs(common.registry)) : undefined;
        const built = new Map<string, PublishedImage>();
        for (const image of images) {
            if (Object.hasOwn(prebuilt, image.name)) {
                built.set(image.name, prebuiltImage(image, prebuilt[image.name]));
                continue;
            }
            const base = "image" in image.base ? built.get(image.base.image) : undefined;
            const sessionImage = new SessionImage(
                image.name,
                { ...args, image, base, source: common.source(image), extraTags: tagged ? releaseTags(image) : [], tagProvider },
                opts,
            );
            built.set(image.name, sessionImage);
        }
        return built;
    }
}
