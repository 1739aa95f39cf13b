import * as k8s from "@pulumi/kubernetes";

/**
 * What a workload needs to land on a session GPU node, exported by GpuNodePool so that the test
 * Deployment and StreamSpace Templates cannot get it wrong. For the `none` provider every field is
 * empty and `gpuLimit` is false: sessions run anywhere and encode in software.
 */
export interface WorkloadScheduling {
    /** Node labels a pod must select (`streamspace.io/node-type: gpu` on GPU pools). */
    nodeSelector: Record<string, string>;
    /** Tolerations for the GPU taint (`nvidia.com/gpu=true:NoSchedule`). */
    tolerations: k8s.types.input.core.v1.Toleration[];
    /** Whether pods request `nvidia.com/gpu: 1`. */
    gpuLimit: boolean;
    /** RuntimeClass to run under (`nvidia` on clusters whose containerd lacks it as default). */
    runtimeClassName?: string;
}

export const NO_GPU: WorkloadScheduling = { nodeSelector: {}, tolerations: [], gpuLimit: false };
