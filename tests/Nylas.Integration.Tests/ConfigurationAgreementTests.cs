using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using Nylas.Engine;
using Nylas.Functions;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// One source of truth for configuration: the options classes (<see cref="NylasOptions"/>). The README's table, the
/// Functions sample settings and the Bicep's app settings must name exactly those settings, with their defaults; a
/// setting documented or deployed that no code reads fails here, and so does one the code reads that nobody documents.
/// </summary>
public partial class ConfigurationAgreementTests
{
    private static readonly string Root = RepoRoot.Path;

    /// <summary>Every setting of the options classes as an environment-variable name, with its default ("" when none; null for a dictionary).</summary>
    private static SortedDictionary<string, string?> OptionSettings()
    {
        var settings = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        var defaults = new NylasOptions();
        foreach (var section in typeof(NylasOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            object value = section.GetValue(defaults)!;
            if (value is string or bool or int or long || section.PropertyType.IsEnum)
            {
                settings[$"{NylasOptions.Section}__{section.Name}"] = Format(value); // a top-level setting (Nylas__Transport)
                continue;
            }
            foreach (var property in section.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                string name = $"{NylasOptions.Section}__{section.Name}__{property.Name}";
                settings[name] = property.PropertyType.IsGenericType ? null : Format(property.GetValue(value));
            }
        }
        return settings;
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A dictionary setting (the shards) appears as NAME__0, NAME__1, …</summary>
    private static string? Known(string name, SortedDictionary<string, string?> options)
    {
        if (options.ContainsKey(name)) return name;
        var indexed = IndexedSetting().Match(name);
        return indexed.Success && options.TryGetValue(indexed.Groups[1].Value, out var d) && d is null ? indexed.Groups[1].Value : null;
    }

    [GeneratedRegex(@"^(.*)__(\d+|\$\{i\})$")]
    private static partial Regex IndexedSetting();

    [Fact]
    public void The_sample_settings_list_every_option_with_its_default_and_nothing_else()
    {
        var options = OptionSettings();
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject()
            .Where(p => p.Name.StartsWith("Nylas__", StringComparison.Ordinal))
            .ToDictionary(p => p.Name, p => p.Value.GetString());
        var unknown = values.Keys.Where(k => Known(k, options) is null).ToList();
        Assert.True(unknown.Count == 0, $"local.settings.sample.json sets settings no options class has: {string.Join(", ", unknown)}");
        var missing = options.Keys.Where(k => !values.Keys.Any(v => Known(v, options) == k)).ToList();
        Assert.True(missing.Count == 0, $"local.settings.sample.json lacks: {string.Join(", ", missing)}");
        foreach (var (name, value) in values)
        {
            // Required settings without a default carry an example value.
            if (options.TryGetValue(name, out var d) && d is { Length: > 0 })
                Assert.True(d == value, $"local.settings.sample.json: {name} is '{value}', its default is '{d}'");
        }
    }

    [Fact]
    public void The_README_table_documents_every_option_with_its_default_and_nothing_else()
    {
        var options = OptionSettings();
        string readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        int start = readme.IndexOf("## Configuration", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Configuration' section");
        var rows = readme[start..].Split('\n').SkipWhile(l => !l.StartsWith("| key", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.NotEmpty(rows);

        var documented = new Dictionary<string, string?>();
        foreach (string row in rows)
        {
            string cell = row.Split('|')[1];
            string? section = null;
            // Each `Name` in the key cell, with the "(default…)" that follows it; names inside the parentheses are values.
            foreach (Match m in KeyAndDefault().Matches(cell))
            {
                string token = m.Groups[1].Value;
                string? note = m.Groups[2].Success ? m.Groups[2].Value : null;
                if (token.StartsWith("Nylas__", StringComparison.Ordinal))
                {
                    section = token[..token.LastIndexOf("__", StringComparison.Ordinal)];
                    documented[token] = note;
                }
                else if (section is not null && SettingName().IsMatch(token))
                {
                    documented[$"{section}__{token}"] = note;
                }
            }
        }
        var unknown = documented.Keys.Where(k => Known(k, options) is null).ToList();
        Assert.True(unknown.Count == 0, $"README's Configuration table names settings no options class has: {string.Join(", ", unknown)}");
        var missing = options.Keys.Where(k => !documented.Keys.Any(d => Known(d, options) == k)).ToList();
        Assert.True(missing.Count == 0, $"README's Configuration table lacks: {string.Join(", ", missing)}");
        foreach (var (name, note) in documented)
        {
            // "(240)", "(20; 0 = off)", "(`ingest`)", "(false; …)": the first word is the default where it is a plain value.
            if (note is null || !options.TryGetValue(name, out var d) || d is null) continue;
            string first = DefaultInNote().Match(note) is { Success: true } v ? v.Groups[1].Value : "";
            // "(32 MB)", "(empty: …)" and cron schedules are prose, not a value to compare.
            if (first.Length == 0 || first.Contains(' ') || first == "empty") continue;
            Assert.True(d == first, $"README: {name} is documented with default '{first}', the code's default is '{d}'");
        }
    }

    // `Name` optionally followed by " (note)"; the note ends at the first ")" not inside backticks.
    [GeneratedRegex(@"`([^`]+)`(?:\s*\(((?:`[^`]*`|[^)`])*)\))?")]
    private static partial Regex KeyAndDefault();

    [GeneratedRegex(@"^[A-Z][A-Za-z]+$")]
    private static partial Regex SettingName();

    // The note's first value, quoted or not, up to ";", ":" or ",".
    [GeneratedRegex(@"^\s*`?([^`;:,]*?)`?\s*(?:$|[;:,])")]
    private static partial Regex DefaultInNote();

    [Fact]
    public void The_Bicep_sets_only_settings_the_code_reads_and_every_one_the_Functions_host_resolves()
    {
        var options = OptionSettings();
        var bicep = Directory.GetFiles(Path.Combine(Root, "infra-bicep"), "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        var deployed = bicep.SelectMany(text => BicepSetting().Matches(text).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.NotEmpty(deployed);
        var unknown = deployed.Where(k => Known(k, options) is null).ToList();
        Assert.True(unknown.Count == 0, $"the Bicep sets settings no options class has: {string.Join(", ", unknown)}");

        // %Nylas:…% in host.json and in trigger attributes is resolved by the Functions host from app settings: a missing
        // one stops the function (or the whole host) from starting.
        var expressions = BindingExpression().Matches(File.ReadAllText(Path.Combine(Root, "host.json"))).Select(m => m.Groups[1].Value)
            .Concat(typeof(ApiFunctions).Assembly.GetTypes().SelectMany(t => t.GetMethods()).SelectMany(m => m.GetParameters())
                .SelectMany(p => p.GetCustomAttributes()).SelectMany(a => a.GetType().GetProperties().Where(pr => pr.PropertyType == typeof(string))
                    .Select(pr => pr.GetValue(a) as string ?? "")).SelectMany(v => BindingExpression().Matches(v).Select(m => m.Groups[1].Value)))
            .Distinct().ToList();
        Assert.NotEmpty(expressions);
        foreach (string expression in expressions)
        {
            string name = expression.Replace(":", "__", StringComparison.Ordinal);
            Assert.True(Known(name, options) is not null, $"%{expression}% is bound by the Functions app but is no option");
            Assert.True(deployed.Contains(name), $"%{expression}% is bound by the Functions app, but the Bicep does not set {name}");
            string bicepValue = bicep.Select(t => Regex.Match(t, $@"\b{Regex.Escape(name)}:\s*'([^']*)'")).First(m => m.Success).Groups[1].Value;
            Assert.True(options[name] == bicepValue, $"the Bicep sets {name} to '{bicepValue}', the code's default is '{options[name]}'");
        }
    }

    [GeneratedRegex(@"(Nylas__[A-Za-z]+(?:__[A-Za-z]+)?(?:__\$\{i\})?)")]
    private static partial Regex BicepSetting();

    [GeneratedRegex(@"%(Nylas:[A-Za-z:]+)%")]
    private static partial Regex BindingExpression();
}

/// <summary>The host.json values the engine depends on, as the Functions app checks them at start.</summary>
public class HostJsonCheckTests
{
    [Fact]
    public void The_repository_host_json_passes_and_is_the_one_the_Functions_app_ships()
    {
        string root = RepoRoot.Path;
        Assert.Empty(Nylas.Engine.Hosting.HostJsonCheck.Problems(File.ReadAllText(Path.Combine(root, "host.json"))));
        // The Functions build copies the same file next to the app, where the check reads it.
        string shipped = Path.Combine(root, "functions/Nylas.Functions/bin/Debug/net10.0/host.json");
        Assert.Equal(File.ReadAllText(Path.Combine(root, "host.json")), File.ReadAllText(shipped));
    }

    [Theory]
    [InlineData("""{"extensions":{"http":{"routePrefix":"api"},"queues":{"messageEncoding":"none"},"durableTask":{"hubName":"%Nylas:Durable:TaskHub%"}}}""", "routePrefix")]
    [InlineData("""{"extensions":{"http":{"routePrefix":""},"queues":{"messageEncoding":"base64"},"durableTask":{"hubName":"%Nylas:Durable:TaskHub%"}}}""", "messageEncoding")]
    [InlineData("""{"extensions":{"http":{"routePrefix":""},"queues":{"messageEncoding":"none"},"durableTask":{"hubName":"nylas"}}}""", "hubName")]
    [InlineData("""{"version":"2.0"}""", "routePrefix")]
    public void A_changed_value_is_named(string hostJson, string expected)
    {
        var problems = Nylas.Engine.Hosting.HostJsonCheck.Problems(hostJson);
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }
}
