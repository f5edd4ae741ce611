import Foundation
import Store
import Training
import Models
import Plot

/// `make figures`: Figures 2 and 5 from the pre-trained teachers (features dumped to
/// HDF5 first), with the paper's "the direct component dominates" checked.
public enum FigureRunner {
    public static func spectra(teachers names: [String], loader: (String) throws -> TeacherModel, data: DataCatalog,
                               scale: Scale, samples: Int = 1600, directory: String = "tables/out") throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var md = "> Scale: \(scale). Teachers pre-trained on the 55k Fashion-MNIST pre-training images; features of the first \(samples) test images.\n\n"
        md += "# Figures 2 and 5: feature distribution of the teachers in the frequency domain\n\n"
        md += "Paper: the direct (0,0) component of large pre-trained ViTs' features dominates (Fig. 2: BEiT-L/14; Fig. 5: ViT-L/14, Swin-L, BEiT-L/14). Ours: orthonormal 2-D DCT of each channel of the last-stage features, |.| averaged over samples.\n\n"
        md += "| teacher | samples | grid | DC share of energy | channels whose largest mean coefficient is DC | claim |\n|---|---:|---:|---:|---:|---|\n"
        for name in names {
            let teacher = try loader(name)
            let s = try Spectrum.measure(teacherName: name, teacher: teacher, data: data.fashion.testSet, samples: samples,
                                         dumpPath: "\(directory)/features-\(name).h5")
            try s.save(to: "\(directory)/figure05-\(name).h5")
            let title = name == "vit-mini-l" ? "Figure 2 analog: \(name) last-stage |DCT|" : "Figure 5 analog: \(name) last-stage |DCT|"
            try s.figure(title: title).writePNG(to: URL(fileURLWithPath: "\(directory)/figure05-\(name).png"))
            let held = s.channelsDominatedByDirect > 0.5
            md += String(format: "| %@ | %d | %dx%d | %.1f%% | %.1f%% | %@ |\n", name, s.samples, s.grid, s.grid,
                         100 * s.directEnergyShare, 100 * s.channelsDominatedByDirect, held ? "**held**" : "**not held**")
        }
        md += "\nClaim rule: held when the DC coefficient has the largest mean magnitude in more than half of the channels.\n\n"
        for name in names { md += "![\(name)](figure05-\(name).png)\n\n" }
        try AtomicWrite.write(Data(md.utf8), to: "\(directory)/figures.md")
        return md
    }
}
