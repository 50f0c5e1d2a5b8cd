namespace Nylas.Engine.Api.OpenApi;

/// <summary>
/// GET /openapi.json: the OpenAPI 3.1 description of the whole API (Api/OpenApi/openapi.json, embedded),
/// served without credentials. Tests keep it in sync with both hosts' routes and with real answers.
/// </summary>
public static class OpenApiDescription
{
    public const string ResourceName = "Nylas.Engine.Api.OpenApi.openapi.json";

    private static readonly Lazy<byte[]> Document = new(() =>
    {
        using var stream = typeof(OpenApiDescription).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from Nylas.Engine");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The document's bytes (UTF-8 JSON).</summary>
    public static ReadOnlyMemory<byte> Json => Document.Value;

    public static ApiResult Get() => ApiResult.Stream(() => Task.FromResult<Stream>(new MemoryStream(Document.Value, writable: false)), "application/json");
}
