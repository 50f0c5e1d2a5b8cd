using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Nylas.DevTool.DemoMail;

/// <summary>
/// Builds small but valid attachment files (PNG, PDF, DOCX, CSV) in code, so the demo mailbox
/// needs no binary fixtures in the repository and stays byte-for-byte deterministic.
/// </summary>
internal static class DemoAttachments
{
    // Fixed timestamp for zip entries: the default would be "now" and break determinism.
    private static readonly DateTimeOffset ZipEntryTime = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A truecolour PNG (colour type 2, 8 bits) whose pixels come from <paramref name="pixel"/>.</summary>
    public static byte[] Png(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        // Raw scanlines: one filter byte (0 = None) followed by RGB triplets.
        var raw = new byte[height * (1 + width * 3)];
        var i = 0;
        for (var y = 0; y < height; y++)
        {
            raw[i++] = 0;
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                raw[i++] = r;
                raw[i++] = g;
                raw[i++] = b;
            }
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour
        // compression, filter and interlace methods stay 0

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WritePngChunk(png, "IHDR", header);
        WritePngChunk(png, "IDAT", compressed.ToArray());
        WritePngChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WritePngChunk(Stream png, string type, byte[] data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        png.Write(buffer);

        var typeAndData = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        png.Write(typeAndData);

        // The CRC covers the chunk type and data, not the length.
        BinaryPrimitives.WriteUInt32BigEndian(buffer, Crc32(typeAndData));
        png.Write(buffer);
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>CRC-32 (ISO 3309, as PNG requires). Hand-rolled to avoid a package for a few bytes.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>A one-page PDF 1.4 with the given ASCII lines in Helvetica, with a correct xref table.</summary>
    public static byte[] Pdf(string title, IReadOnlyList<string> lines)
    {
        var content = new StringBuilder();
        content.Append("BT\n/F1 18 Tf\n72 770 Td\n(").Append(PdfEscape(title)).Append(") Tj\n/F1 11 Tf\n0 -30 Td\n");
        foreach (var line in lines)
            content.Append('(').Append(PdfEscape(line)).Append(") Tj\n0 -16 Td\n");
        content.Append("ET\n");
        var stream = content.ToString();

        string[] objects =
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            $"<< /Length {Encoding.ASCII.GetByteCount(stream)} >>\nstream\n{stream}endstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            $"<< /Title ({PdfEscape(title)}) /Producer (Nylas.DevTool demo generator) >>",
        ];

        var pdf = new StringBuilder("%PDF-1.4\n");
        var offsets = new List<int>();
        for (var n = 0; n < objects.Length; n++)
        {
            // Everything is ASCII, so character counts are byte offsets.
            offsets.Add(pdf.Length);
            pdf.Append(n + 1).Append(" 0 obj\n").Append(objects[n]).Append("\nendobj\n");
        }

        var xref = pdf.Length;
        pdf.Append("xref\n0 ").Append(objects.Length + 1).Append('\n');
        pdf.Append("0000000000 65535 f \n");
        foreach (var offset in offsets)
            pdf.Append(offset.ToString("D10")).Append(" 00000 n \n");
        pdf.Append("trailer\n<< /Size ").Append(objects.Length + 1).Append(" /Root 1 0 R /Info 6 0 R >>\n");
        pdf.Append("startxref\n").Append(xref).Append("\n%%EOF\n");
        return Encoding.ASCII.GetBytes(pdf.ToString());
    }

    private static string PdfEscape(string text)
    {
        if (text.Any(c => c > 0x7E))
            throw new ArgumentException("PDF demo text must be ASCII", nameof(text));
        return text.Replace("\\", "\\\\").Replace("(", "\\(").Replace(")", "\\)");
    }

    /// <summary>A minimal but genuine Word document (OOXML zip with the three required parts).</summary>
    public static byte[] Docx(IReadOnlyList<string> paragraphs)
    {
        const string contentTypes =
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
              <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
              <Default Extension="xml" ContentType="application/xml"/>
              <Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
            </Types>
            """;
        const string rels =
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
              <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
            </Relationships>
            """;

        var body = new StringBuilder();
        foreach (var paragraph in paragraphs)
            body.Append("<w:p><w:r><w:t xml:space=\"preserve\">")
                .Append(System.Security.SecurityElement.Escape(paragraph))
                .Append("</w:t></w:r></w:p>");
        var document =
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n" +
            "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" +
            body + "</w:body></w:document>";

        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddZipEntry(archive, "[Content_Types].xml", contentTypes);
            AddZipEntry(archive, "_rels/.rels", rels);
            AddZipEntry(archive, "word/document.xml", document);
        }
        return zip.ToArray();
    }

    private static void AddZipEntry(ZipArchive archive, string name, string text)
    {
        var entry = archive.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = ZipEntryTime;
        using var writer = new StreamWriter(entry.Open(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.Write(text);
    }

    /// <summary>RFC 4180 CSV (CRLF line ends, fields quoted when needed).</summary>
    public static byte[] Csv(IEnumerable<string[]> rows)
    {
        var csv = new StringBuilder();
        foreach (var row in rows)
            csv.AppendJoin(',', row.Select(QuoteCsv)).Append("\r\n");
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(csv.ToString());
    }

    private static string QuoteCsv(string field) =>
        field.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
