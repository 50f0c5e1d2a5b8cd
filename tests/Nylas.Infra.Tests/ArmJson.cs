using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nylas.Infra.Tests;

/// <summary>Helpers over ARM JSON (compiled templates and deployment snapshots).</summary>
public static class ArmJson
{
    public static JsonObject Parse(string json, string what)
    {
        try
        {
            return JsonNode.Parse(json)?.AsObject()
                ?? throw new InvalidOperationException($"{what} is the JSON literal null.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidOperationException($"{what} is not JSON: {e.Message}{Environment.NewLine}{json}", e);
        }
    }

    /// <summary>
    /// Every resource of a compiled template, including those of nested deployments (Bicep modules).
    /// Handles both template shapes: "resources" as an array, and as an object keyed by symbolic
    /// name (languageVersion 2.0). Declarations of existing resources are left out.
    /// </summary>
    public static List<JsonObject> AllTemplateResources(JsonObject template)
    {
        var result = new List<JsonObject>();
        Collect(template, result);
        return result;
    }

    private static void Collect(JsonObject template, List<JsonObject> into)
    {
        IEnumerable<JsonNode?> resources = template["resources"] switch
        {
            JsonArray array => array,
            JsonObject byName => byName.Select(p => p.Value),
            _ => [],
        };

        foreach (var resource in resources.OfType<JsonObject>())
        {
            if (resource["existing"]?.GetValue<bool>() == true)
            {
                continue;
            }

            into.Add(resource);
            if (Str(resource, "type") == "Microsoft.Resources/deployments" &&
                resource["properties"]?["template"] is JsonObject inner)
            {
                Collect(inner, into);
            }
        }
    }

    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A node as text to search in: a string value as itself, anything else as JSON without \u escapes of quotes.</summary>
    public static string Text(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString(Unescaped) ?? "";

    public static string? Str(JsonNode? node, string property) =>
        node is JsonObject o && o[property] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static List<JsonObject> OfType(IEnumerable<JsonObject> resources, string type) =>
        resources.Where(r => string.Equals(Str(r, "type"), type, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>The last segment of a (snapshot, evaluated) child resource name: "acct/default/raw-mail" -> "raw-mail".</summary>
    public static string LeafName(JsonObject resource) => Str(resource, "name")!.Split('/')[^1];
}
