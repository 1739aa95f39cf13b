import { z } from "zod";

/** Name of the metadata file inside each `images/<name>/` folder. */
export const METADATA_FILE = "image.yaml";

export const STREAMING_PROTOCOLS = ["selkies", "vnc", "kasmvnc", "none"] as const;
export const GPU_USE = ["none", "optional", "required"] as const;
export const IMAGE_KINDS = ["base", "session", "tool"] as const;

const imageName = z
    .string()
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "expected lowercase letters, digits and single hyphens, e.g. chrome-selkies");

const port = z
    .object({
        name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/, "a Kubernetes port name: at most 15 lowercase letters, digits and hyphens"),
        port: z.number().int().min(1).max(65535),
        protocol: z.enum(["TCP", "UDP"]).default("TCP"),
        description: z.string().optional(),
    })
    .strict();

const base = z.union(
    [
        z.object({ image: imageName }).strict(),
        z
            .object({
                external: z
                    .string()
                    .regex(/@sha256:[a-f0-9]{64}$/, "an external base must be pinned by digest: <name>:<tag>@sha256:<64 hex digits>"),
            })
            .strict(),
    ],
    { errorMap: () => ({ message: "expected either `image: <catalog image>` or `external: <reference pinned by @sha256 digest>`" }) },
);

const platform = z.enum(["linux/amd64", "linux/arm64"]);

/** Names of the environment variables an install script reads. */
const settingName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "expected an environment variable name, e.g. BROWSER");
/** One word each: they reach install.sh as `KEY=VALUE` words of one build argument. */
const settingValue = z.string().regex(/^[A-Za-z0-9._:\/+-]+$/, "expected one word of letters, digits and . _ : / + -");
const settings = z.record(settingName, settingValue);

/**
 * An application on a shared Dockerfile: its folder holds `install.sh`, `rootfs/` (with the
 * launcher `usr/local/bin/streamspace-app`) and, for a LinuxServer flavour, `kasmvnc/`; the catalog
 * builds it with `images/app.Dockerfile` (or `images/app.kasmvnc.Dockerfile`) and these settings.
 */
const app = z
    .object({
        /** The application's name as people know it: the LinuxServer flavour's web UI title. */
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 .+-]*$/, "expected a plain name, e.g. Blender"),
        /** The application's window: an extended regular expression over WM_CLASS, matched without case. */
        windowClass: z.string().regex(/^[A-Za-z0-9|_.-]+$/, "expected WM_CLASS names separated by |, e.g. google-chrome|chromium"),
        /** Settings install.sh reads, per target platform (e.g. Debian's Chromium on arm64). */
        platformInstall: z.record(platform, settings).default({}),
    })
    .strict();

/**
 * What a build that reaches only Debian's archive, PyPI and npm does: other install settings and what
 * they leave out, or nothing at all because the image needs the internet.
 */
const offline = z.union(
    [
        z.object({ install: settings, leavesOut: z.string().min(1) }).strict(),
        z.object({ needsInternet: z.string().min(1) }).strict(),
    ],
    { errorMap: () => ({ message: "expected either `install: {KEY: value}` with `leavesOut: <what is left out>`, or `needsInternet: <why>`" }) },
);

/** A second build of an app, published as `<app>-<name>`. */
const variant = z
    .object({
        name: imageName,
        /**
         * A Dockerfile of the folder; without one, the folder's Dockerfile, else the shared
         * Dockerfile of the variant's streaming protocol (an app's LinuxServer flavour).
         */
        dockerfile: z.string().regex(/^Dockerfile(\.[a-z0-9-]+)?$/, "expected Dockerfile or a file name like Dockerfile.kasmvnc").optional(),
        title: z.string().min(1).optional(),
        description: z.string().min(1).optional(),
        base,
        platforms: z.array(platform).min(1).optional(),
        ports: z.array(port).min(1),
        streamingProtocol: z.enum(STREAMING_PROTOCOLS),
    })
    .strict();

export const metadataSchema = z
    .object({
        title: z.string().min(1),
        description: z.string().min(1),
        version: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+([.-][0-9A-Za-z.-]+)?$/, "expected a semantic version, e.g. 1.0.0"),
        kind: z.enum(IMAGE_KINDS).default("session"),
        category: z.string().min(1),
        base,
        platforms: z.array(platform).min(1),
        ports: z.array(port).default([]),
        gpu: z.enum(GPU_USE),
        streamingProtocol: z.enum(STREAMING_PROTOCOLS),
        license: z.string().min(1).default("Apache-2.0"),
        icon: z.string().url().optional(),
        tags: z.array(z.string().regex(/^[a-z0-9-]+$/)).default([]),
        /** Default resources of a session, used for StreamSpace Templates. */
        resources: z
            .object({ cpu: z.string().min(1), memory: z.string().min(1) })
            .strict()
            .optional(),
        /** Set on applications built with the shared Dockerfiles. */
        app: app.optional(),
        offline: offline.optional(),
        variants: z.array(variant).default([]),
    })
    .strict();

export type ImageMetadata = z.infer<typeof metadataSchema>;
export type ImagePort = z.infer<typeof port>;
export type ImageBase = z.infer<typeof base>;
export type ImagePlatform = z.infer<typeof platform>;
export type ImageApp = z.infer<typeof app>;
export type ImageOffline = z.infer<typeof offline>;
export type StreamingProtocol = (typeof STREAMING_PROTOCOLS)[number];
