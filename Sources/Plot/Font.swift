// An embedded 5 x 7 bitmap font (with a 2-row descender), drawn at integer or
// fractional pixel sizes. Glyphs are this project's own, written as rows of
// '#' (ink) and '.' (paper); rows 0-6 are the cap height, rows 7-8 descend.

/// Text alignment relative to the anchor point.
public enum TextAnchor: Sendable {
    case topLeft, top, topRight
    case left, center, right
    case bottomLeft, bottom, bottomRight
}

/// The built-in bitmap font.
public enum BitmapFont {
    /// Glyph cell width in font pixels (5 of ink plus 1 of spacing).
    public static let advance = 6
    /// Cap height in font pixels; text boxes are this tall (descenders hang below).
    public static let capHeight = 7
    /// Rows below the baseline used by g, j, p, q, y and the comma.
    public static let descent = 2

    /// Width and height of `text` in canvas pixels when each font pixel is `pixelSize` wide.
    public static func size(of text: String, pixelSize: Double) -> (width: Double, height: Double) {
        let count = text.count
        let width = count == 0 ? 0 : Double(count * advance - 1) * pixelSize
        return (width, Double(capHeight) * pixelSize)
    }

    /// The 9 rows of a glyph, 5 bits each (bit 4 = leftmost column).
    static func rows(for character: Character) -> [UInt8] {
        glyphs[character] ?? glyphs["?"]!
    }

    static let glyphs: [Character: [UInt8]] = {
        var table: [Character: [UInt8]] = [:]
        for (character, pattern) in glyphSource {
            var rows = pattern.split(separator: " ").map { row -> UInt8 in
                precondition(row.count == 5, "glyph \(character) has a row of width \(row.count)")
                return row.reduce(0) { ($0 << 1) | ($1 == "#" ? 1 : 0) }
            }
            precondition((7...9).contains(rows.count), "glyph \(character) has \(rows.count) rows")
            while rows.count < 9 { rows.append(0) }
            table[character] = rows
        }
        return table
    }()

    static let glyphSource: KeyValuePairs<Character, String> = [
        " ": "..... ..... ..... ..... ..... ..... .....",
        "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
        "\"": ".#.#. .#.#. ..... ..... ..... ..... .....",
        "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
        "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
        "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
        "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
        "'": "..#.. ..#.. ..... ..... ..... ..... .....",
        "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
        "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        ",": "..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...",
        "-": "..... ..... ..... .#### ..... ..... .....",
        ".": "..... ..... ..... ..... ..... .##.. .##..",
        "/": "..... ....# ...#. ..#.. .#... #.... .....",
        "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
        "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        "2": ".###. #...# ....# ...#. ..#.. .#... #####",
        "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
        "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        "5": "##### #.... ####. ....# ....# #...# .###.",
        "6": "..##. .#... #.... ####. #...# #...# .###.",
        "7": "##### ....# ...#. ..#.. .#... .#... .#...",
        "8": ".###. #...# #...# .###. #...# #...# .###.",
        "9": ".###. #...# #...# .#### ....# ...#. .##..",
        ":": "..... .##.. .##.. ..... .##.. .##.. .....",
        ";": "..... .##.. .##.. ..... .##.. .##.. ..#.. .#... .....",
        "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
        "=": "..... ..... ##### ..... ##### ..... .....",
        ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
        "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
        "@": ".###. #...# ....# .##.# #.#.# #.#.# .###.",
        "A": ".###. #...# #...# ##### #...# #...# #...#",
        "B": "####. #...# #...# ####. #...# #...# ####.",
        "C": ".###. #...# #.... #.... #.... #...# .###.",
        "D": "###.. #..#. #...# #...# #...# #..#. ###..",
        "E": "##### #.... #.... ####. #.... #.... #####",
        "F": "##### #.... #.... ####. #.... #.... #....",
        "G": ".###. #...# #.... #.### #...# #...# .####",
        "H": "#...# #...# #...# ##### #...# #...# #...#",
        "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
        "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        "L": "#.... #.... #.... #.... #.... #.... #####",
        "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
        "O": ".###. #...# #...# #...# #...# #...# .###.",
        "P": "####. #...# #...# ####. #.... #.... #....",
        "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
        "R": "####. #...# #...# ####. #.#.. #..#. #...#",
        "S": ".#### #.... #.... .###. ....# ....# ####.",
        "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "U": "#...# #...# #...# #...# #...# #...# .###.",
        "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
        "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        "Z": "##### ....# ...#. ..#.. .#... #.... #####",
        "[": ".###. .#... .#... .#... .#... .#... .###.",
        "\\": "..... #.... .#... ..#.. ...#. ....# .....",
        "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
        "^": "..#.. .#.#. #...# ..... ..... ..... .....",
        "_": "..... ..... ..... ..... ..... ..... ..... #####",
        "`": ".#... ..#.. ..... ..... ..... ..... .....",
        "a": "..... ..... .###. ....# .#### #...# .####",
        "b": "#.... #.... #.##. ##..# #...# #...# ####.",
        "c": "..... ..... .###. #.... #.... #...# .###.",
        "d": "....# ....# .##.# #..## #...# #...# .####",
        "e": "..... ..... .###. #...# ##### #.... .###.",
        "f": "..##. .#..# .#... ###.. .#... .#... .#...",
        "g": "..... ..... .#### #...# #...# #...# .#### ....# .###.",
        "h": "#.... #.... #.##. ##..# #...# #...# #...#",
        "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
        "j": "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
        "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
        "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "m": "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
        "n": "..... ..... #.##. ##..# #...# #...# #...#",
        "o": "..... ..... .###. #...# #...# #...# .###.",
        "p": "..... ..... ####. #...# #...# #...# ####. #.... #....",
        "q": "..... ..... .#### #...# #...# #...# .#### ....# ....#",
        "r": "..... ..... #.##. ##..# #.... #.... #....",
        "s": "..... ..... .#### #.... .###. ....# ####.",
        "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
        "u": "..... ..... #...# #...# #...# #..## .##.#",
        "v": "..... ..... #...# #...# #...# .#.#. ..#..",
        "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
        "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
        "y": "..... ..... #...# #...# #...# #...# .#### ....# .###.",
        "z": "..... ..... ##### ...#. ..#.. .#... #####",
        "{": "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
        "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "}": ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
        "~": "..... ..... .#... #.#.# ...#. ..... .....",
        // A few symbols ML figures need.
        "β": ".##.. #..#. #..#. ###.. #...# #...# ####. #.... #....",
        "α": "..... ..... .##.# #..#. #..#. #..#. .##.#",
        "λ": "#.... .#... .#... ..#.. .#.#. #...# #...#",
        "±": "..#.. ..#.. ##### ..#.. ..#.. ..... #####",
        "×": "..... #...# .#.#. ..#.. .#.#. #...# .....",
        "°": ".##.. #..#. .##.. ..... ..... ..... .....",
        "−": "..... ..... ..... .#### ..... ..... .....",
    ]
}

extension Canvas {
    /// Draws `text` so that the point `at` is at the given `anchor` of its box.
    /// `pixelSize` is the size of one font pixel in canvas pixels. With
    /// `vertical`, the text runs bottom-to-top (rotated 90 degrees
    /// counter-clockwise), as on a y-axis label; the anchor then refers to the
    /// rotated box. Returns the box the text occupies.
    @discardableResult
    public mutating func drawText(_ text: String, at anchorPoint: Point, pixelSize: Double,
                                  color: Color = .ink, anchor: TextAnchor = .topLeft,
                                  vertical: Bool = false) -> Rect {
        let size = BitmapFont.size(of: text, pixelSize: pixelSize)
        let boxWidth = vertical ? size.height : size.width
        let boxHeight = vertical ? size.width : size.height
        var origin = anchorPoint
        switch anchor {
        case .topLeft, .left, .bottomLeft: break
        case .top, .center, .bottom: origin.x -= boxWidth / 2
        case .topRight, .right, .bottomRight: origin.x -= boxWidth
        }
        switch anchor {
        case .topLeft, .top, .topRight: break
        case .left, .center, .right: origin.y -= boxHeight / 2
        case .bottomLeft, .bottom, .bottomRight: origin.y -= boxHeight
        }
        // Snap to whole pixels so that glyph edges stay crisp.
        origin.x = origin.x.rounded()
        origin.y = origin.y.rounded()
        for (index, character) in text.enumerated() {
            let rows = BitmapFont.rows(for: character)
            for (row, bits) in rows.enumerated() where bits != 0 {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    // Position along the text and across it, in font pixels.
                    let along = Double(index * BitmapFont.advance + column)
                    let across = Double(row)
                    let cell: Rect
                    if vertical {
                        // Rotated counter-clockwise: text advances upwards and the
                        // glyph's top faces left.
                        cell = Rect(x: origin.x + across * pixelSize,
                                    y: origin.y + boxHeight - (along + 1) * pixelSize,
                                    width: pixelSize, height: pixelSize)
                    } else {
                        cell = Rect(x: origin.x + along * pixelSize, y: origin.y + across * pixelSize,
                                    width: pixelSize, height: pixelSize)
                    }
                    fillRect(cell, color: color)
                }
            }
        }
        return Rect(x: origin.x, y: origin.y, width: boxWidth, height: boxHeight)
    }
}
