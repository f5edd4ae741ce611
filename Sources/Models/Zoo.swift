/// Every preset of every family. Each family file declares its own `presets`.
public enum Zoo {
    public static var presets: [ModelPreset] {
        ResNet.presets + MobileNetV1.presets + ConvNeXt.presets + MLPMixer.presets + ViT.presets + Swin.presets + BEiT.presets
            + LinearModels.presets + SmokePresets.presets
    }

    public static func preset(named name: String) -> ModelPreset? { presets.first { $0.name == name } }
}
