/// Paper architectures at a size that trains in seconds, to run the paper path (ImageNet-
/// layout folders, timm-named teacher weights, Table 10's recipes) end to end: in the tests,
/// and as a first try of `--scale paper` on a new machine. 3 x 64 x 64 input and 1000
/// classes, as ImageNet's at a quarter of the side; the student's and the teacher's stage
/// grids are 16/8/4/2, alike as ResNet-50's and Swin-L's are at 224. Both have timm
/// counterparts (TimmNames.swift), so a teacher's weights come as a safetensors file.
public enum SmokePresets {
    public static var presets: [ModelPreset] {
        [
            ModelPreset(name: "resnet-smoke", family: "resnet", scale: .smoke, inputSize: 64) { rng in
                // timm's 7x7 stem is 64 wide, so the first stage is too.
                ResNet(ResNet.Config(block: .basic, depths: [1, 1, 1, 1], widths: [64, 32, 32, 64], inputSize: 64), rng: &rng)
            },
            ModelPreset(name: "swin-smoke", family: "swin", scale: .smoke, inputSize: 64, isTeacher: true) { rng in
                SwinTransformer(SwinConfig(embedDim: 16, depths: [1, 1, 2, 1], heads: [1, 2, 2, 4], window: 2, dropPathRate: 0,
                                           inputSize: 64), rng: &rng)
            },
        ]
    }
}
