/// Every preset of every family. Each family file declares its own `presets`.
public enum Zoo {
    public static var presets: [ModelPreset] {
        // Families add themselves here: ResNet.presets + MobileNetV1.presets + ...
        ViT.presets + BEiT.presets + MLPMixer.presets
    }

    public static func preset(named name: String) -> ModelPreset? { presets.first { $0.name == name } }
}
