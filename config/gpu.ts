import { text } from "./fields";
import { defineSection } from "./section";

export const GPU_PROVIDERS = ["none", "eks", "gke", "existing"] as const;
export type GpuProvider = (typeof GPU_PROVIDERS)[number];

export interface GpuConfig {
    provider: GpuProvider;
}

export const gpuSection = defineSection({
    keys: {
        gpuProvider: text().default("none"),
    },
    examples: {
        gpuProvider: "eks",
    },
    build(v, ctx): GpuConfig {
        if (!(GPU_PROVIDERS as readonly string[]).includes(v.gpuProvider)) {
            ctx.problem({
                key: "gpuProvider",
                value: v.gpuProvider,
                message: `unknown GPU provider; allowed: ${GPU_PROVIDERS.join(", ")}`,
            });
        }
        return { provider: v.gpuProvider as GpuProvider };
    },
});
