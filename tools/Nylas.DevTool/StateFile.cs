namespace Nylas.DevTool;

/// <summary>
/// The KEY=value file (e.g. .dev/demo.env) that ./dev sources. Updating keeps unknown lines and
/// comments, and the file is private (mode 600) because it holds an access token.
/// </summary>
internal sealed class StateFile
{
    private readonly string _path;
    private readonly List<string> _lines;

    private StateFile(string path, List<string> lines)
    {
        _path = path;
        _lines = lines;
    }

    public static StateFile Load(string path) =>
        new(path, File.Exists(path) ? File.ReadAllLines(path).ToList() : []);

    public string? Get(string key)
    {
        var index = IndexOf(key);
        if (index < 0)
            return null;
        var value = _lines[index][(_lines[index].IndexOf('=') + 1)..].Trim();
        // Accept values a shell script wrote quoted.
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            value = value[1..^1];
        return value.Length == 0 ? null : value;
    }

    public void Set(string key, string value)
    {
        if (value.Any(char.IsControl))
            throw new ToolException($"refusing to write {key} with control characters to {_path}");
        var line = $"{key}={value}";
        var index = IndexOf(key);
        if (index >= 0)
            _lines[index] = (_lines[index].StartsWith("export ", StringComparison.Ordinal) ? "export " : "") + line;
        else
            _lines.Add(line);
    }

    public void Save()
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        Directory.CreateDirectory(directory);

        // Write a private temp file and rename it over the old one: readers never see half a
        // file, and the token is never readable by others, not even briefly.
        var temp = Path.Combine(directory, $".{Path.GetFileName(_path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temp, options))
        {
            foreach (var line in _lines)
                writer.Write(line + "\n");
        }
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, _path, overwrite: true);
    }

    private int IndexOf(string key) =>
        _lines.FindIndex(l => l.StartsWith(key + "=", StringComparison.Ordinal) ||
                              l.StartsWith("export " + key + "=", StringComparison.Ordinal));
}
