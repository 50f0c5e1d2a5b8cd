using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nylas.Engine.Api.OpenApi;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// Requests with bad inputs for every operation of the OpenAPI document the hosts serve, generated from it (wrong
/// types, missing fields, huge strings, invalid ids, unknown enum values, overflowing numbers, malformed JSON, wrong
/// content types, bad query parameters): never a 5xx, and every 4xx a Nylas-style <c>{type, message}</c> body.
/// A failure prints the seed; NYLAS_TEST_FAULT_SEED=&lt;seed&gt; sends the same requests again.
/// </summary>
public class ApiFuzzTests(ReadApiFixture host, ITestOutputHelper output) : IClassFixture<ReadApiFixture>
{
    private static readonly JsonElement Document = JsonDocument.Parse(OpenApiDescription.Json).RootElement;
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    /// <summary>8 requests per operation in the regular run, 80 with <c>./dev test --faults</c>.</summary>
    [Fact]
    public Task Bad_requests_to_every_operation_get_no_5xx_and_only_nylas_style_errors()
        => RunAsync(perOperation: FaultSize.Full ? 80 : 8);

    private sealed record Operation(string Method, string Path, JsonElement Spec, List<JsonElement> Parameters, string Security);

    private async Task RunAsync(int perOperation)
    {
        int seed = FaultSize.Seed;
        output.WriteLine($"seed {seed} (NYLAS_TEST_FAULT_SEED={seed} repeats this run)");
        var random = new Random(seed);
        var realIds = await RealIdsAsync();
        var operations = Operations().ToList();
        var failures = new List<string>();
        int sent = 0;
        var statuses = new SortedDictionary<int, int>();
        foreach (var operation in operations)
        {
            var generator = new BadRequestGenerator(random, operation, realIds, host.ClientId);
            for (int i = 0; i < perOperation; i++)
            {
                var (describe, build) = generator.Next();
                using var http = ClientFor(operation, generator.UseBadCredentials(), random);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                HttpResponseMessage response;
                try
                {
                    response = await SendAsync(http, build, timeout.Token);
                }
                catch (OperationCanceledException) when (operation.Path.StartsWith("/delta/", StringComparison.Ordinal))
                {
                    continue; // a long poll or a stream that accepted its cursor: waiting is its answer
                }
                catch (Exception ex)
                {
                    failures.Add($"{describe}: no answer ({ex.GetType().Name}: {ex.Message})");
                    continue;
                }
                using (response)
                {
                    sent++;
                    int status = (int)response.StatusCode;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    if (status >= 500)
                    {
                        failures.Add($"{describe}: {status} {Truncate(await response.Content.ReadAsStringAsync(), 400)}");
                        continue;
                    }
                    if (status is >= 400 and < 500 && status != 429)
                    {
                        string text = await response.Content.ReadAsStringAsync();
                        if (!IsNylasError(text))
                            failures.Add($"{describe}: {status} without a {{type, message}} body: '{Truncate(text, 300)}' ({response.Content.Headers.ContentType})");
                    }
                }
            }
        }
        output.WriteLine($"{sent} requests to {operations.Count} operations; statuses: {string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}"))}");
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} bad answer(s):\n" + string.Join("\n", failures.Distinct().Take(60)));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> build, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            var response = await http.SendAsync(build(), HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode != HttpStatusCode.TooManyRequests || attempt == 30) return response;
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait, ct);
        }
    }

    private static bool IsNylasError(string text)
    {
        try
        {
            var json = JsonNode.Parse(text);
            return json is JsonObject o
                && o["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type.Length > 0
                && o["message"] is JsonValue m && m.TryGetValue<string>(out var message) && message.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    private HttpClient ClientFor(Operation operation, bool badCredentials, Random random)
    {
        var http = host.Client();
        http.Timeout = TimeSpan.FromSeconds(30);
        string? secret = operation.Security switch
        {
            "none" => null,
            "clientSecret" => host.ClientSecret,
            _ => host.A.Token,
        };
        if (badCredentials)
            secret = new[] { "", "nope", new string('k', 20_000), "ünïcödé", host.B.Token }[random.Next(5)];
        if (secret is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secret + ":")));
        return http;
    }

    private static IEnumerable<Operation> Operations()
    {
        foreach (var path in Document.GetProperty("paths").EnumerateObject())
        {
            var shared = path.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
            foreach (var op in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                // Revoking the test's own token, or deleting, downgrading or cutting off its account, would turn every
                // later request into a 401: those operations get bad ids and bad credentials only (see the generator).
                var parameters = shared.Concat(op.Value.TryGetProperty("parameters", out var own) ? own.EnumerateArray() : []).Select(Resolve).ToList();
                string security = !op.Value.TryGetProperty("security", out var s) ? "accessToken"
                    : s.GetArrayLength() == 0 ? "none"
                    : s.EnumerateArray().SelectMany(x => x.EnumerateObject()).First().Name;
                yield return new Operation(op.Name.ToUpperInvariant(), path.Name, op.Value, parameters, security);
            }
        }
    }

    /// <summary>Follows a local <c>$ref</c> (#/components/…).</summary>
    public static JsonElement Resolve(JsonElement element)
    {
        while (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("$ref", out var reference))
        {
            var node = Document;
            foreach (string part in reference.GetString()!.TrimStart('#', '/').Split('/')) node = node.GetProperty(part);
            element = node;
        }
        return element;
    }

    /// <summary>Ids of real objects of account A, by the path segment they belong to, so that bad bodies reach real objects too.</summary>
    private async Task<Dictionary<string, string>> RealIdsAsync()
    {
        using var http = host.Client(host.A.Token);
        var ids = new Dictionary<string, string>();
        foreach (string collection in new[] { "messages", "threads", "folders", "contacts", "calendars", "events", "files" })
        {
            var list = await http.GetFromJsonAsync<JsonElement>($"/{collection}?limit=1");
            if (list.GetArrayLength() > 0) ids[collection] = list[0].GetProperty("id").GetString()!;
        }
        using var draft = await http.PostAsJsonAsync("/drafts", new { subject = "fuzz target", body = "x" });
        if (draft.IsSuccessStatusCode) ids["drafts"] = (await draft.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        ids["accounts"] = host.A.AccountId;
        return ids;
    }

    /// <summary>Bad requests for one operation, drawn from its parameters and body schema.</summary>
    private sealed class BadRequestGenerator(Random random, Operation operation, Dictionary<string, string> realIds, string clientId)
    {
        private static readonly string Huge = new('h', 100_000);

        // Kestrel answers a request line over 8 kB with a bare 414 before any application code runs (no body can be
        // added there): query values stay under that, the bodies carry the huge strings.
        private static readonly string LongQueryValue = new('q', 3_000);

        private static readonly string[] BadIds =
        [
            "", " ", "x", "0", "-1", "99999999999999999999999999", "../../etc/passwd", "%00", "%ZZ", "a%2Fb", "ünïcödé", "💣",
            new string('z', 25), new string('9', 3_000), "null", "undefined", "'; DROP TABLE messages; --", "{id}", "%2e%2e",
        ];

        private static readonly string[] BadScalars =
        [
            "-1", "-2147483649", "2147483648", "9223372036854775808", "-9223372036854775809", "1e309", "NaN", "Infinity", "1.5",
            "0x10", "abc", "", "true", "null", "%00", "\u0000", "ünïcödé", "💣", "[]", "{}", "' OR 1=1 --", "2026-13-45",
        ];

        /// <summary>Destructive operations on the test's own account only ever see bad ids and bad credentials.</summary>
        private bool Guarded => operation.Path == "/oauth/revoke"
            || (operation.Path.StartsWith("/a/{client_id}/accounts/{id}", StringComparison.Ordinal) && operation.Method is "DELETE" or "POST");

        private bool _badCredentials;

        public bool UseBadCredentials() => _badCredentials;

        public (string Describe, Func<HttpRequestMessage> Build) Next()
        {
            _badCredentials = operation.Path == "/oauth/revoke" || (operation.Security != "none" && random.Next(12) == 0);
            string path = BuildPath();
            string query = BuildQuery();
            var (body, contentType, bodyNote) = BuildBody();
            string describe = $"{operation.Method} {path}{query}{(bodyNote is null ? "" : " body " + bodyNote)}{(_badCredentials ? " (bad credentials)" : "")}";
            if (describe.Length > 600) describe = describe[..600] + "…";
            return (describe, () =>
            {
                var request = new HttpRequestMessage(new HttpMethod(operation.Method), path + query);
                if (body is not null)
                {
                    request.Content = new ByteArrayContent(body);
                    if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                }
                return request;
            });
        }

        private string BuildPath()
        {
            string path = operation.Path.Replace("{client_id}", random.Next(10) == 0 ? Uri.EscapeDataString(BadIds[random.Next(BadIds.Length)]) : clientId);
            if (!path.Contains("{id}", StringComparison.Ordinal)) return path;
            string collection = operation.Path.Split('/', StringSplitOptions.RemoveEmptyEntries).TakeWhile(s => s != "{id}").Last();
            bool real = !Guarded && realIds.TryGetValue(collection, out _) && random.Next(2) == 0;
            string id = real ? realIds[collection]
                : random.Next(4) == 0 && realIds.Count > 0 ? realIds.Values.ElementAt(random.Next(realIds.Count)) // an id of another kind
                : BadIds[random.Next(BadIds.Length)];
            if (Guarded && id == realIds.GetValueOrDefault("accounts")) id = "x";
            // Raw (unescaped) now and then: a client that forgot to escape. Not a raw %00: Kestrel refuses a NUL in the
            // path with a bare 400 before any application code runs.
            return path.Replace("{id}", random.Next(3) == 0 && !id.Contains("%00", StringComparison.Ordinal) ? id.Replace("/", "%2F", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal) : Uri.EscapeDataString(id));
        }

        private string BuildQuery()
        {
            var pairs = new List<string>();
            foreach (var parameter in operation.Parameters.Where(p => p.GetProperty("in").GetString() == "query"))
            {
                if (random.Next(3) != 0) continue;
                string name = parameter.GetProperty("name").GetString()!;
                var schema = parameter.TryGetProperty("schema", out var s) ? Resolve(s) : default;
                pairs.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(BadQueryValue(schema))}");
                if (random.Next(8) == 0) pairs.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(BadQueryValue(schema))}"); // twice
            }
            switch (random.Next(10))
            {
                case 0: pairs.Add("no_such_param=1"); break;
                case 1: pairs.Add("%ZZ=%ZZ"); break;
                case 2: pairs.Add($"limit={LongQueryValue}"); break;
                case 3: pairs.Add("&&&="); break;
            }
            // Under Kestrel's 8 kB request line (see LongQueryValue).
            while (pairs.Sum(p => p.Length + 1) > 6_500) pairs.RemoveAt(random.Next(pairs.Count));
            return pairs.Count == 0 ? "" : "?" + string.Join("&", pairs);
        }

        private string BadQueryValue(JsonElement schema)
        {
            if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("enum", out _) && random.Next(2) == 0)
                return new[] { "bogus", "COUNT", "count,ids", "", "expanded\u0000" }[random.Next(5)];
            return random.Next(6) == 0 ? LongQueryValue[..(1 + random.Next(LongQueryValue.Length))] : BadScalars[random.Next(BadScalars.Length)];
        }

        private (byte[]? Body, string? ContentType, string? Note) BuildBody()
        {
            if (!operation.Spec.TryGetProperty("requestBody", out var requestBody))
                return random.Next(6) == 0 ? (Encoding.UTF8.GetBytes("{\"unexpected\": true}"), "application/json", "unexpected json") : (null, null, null);
            var content = Resolve(requestBody).GetProperty("content");
            var types = content.EnumerateObject().ToList();
            var chosen = types[random.Next(types.Count)];
            if (chosen.Name == "multipart/form-data") return MultipartBody();
            if (chosen.Name == "message/rfc822")
                return (new[] { ""u8.ToArray(), "garbage"u8.ToArray(), Encoding.UTF8.GetBytes("From: nobody\r\n\r\n" + Huge) }[random.Next(3)], "message/rfc822", "bad rfc822");
            var schema = chosen.Value.TryGetProperty("schema", out var s) ? Resolve(s) : default;
            string contentType = chosen.Name;
            switch (random.Next(14))
            {
                case 0: return (null, null, "missing");
                case 1: return ([], contentType, "empty");
                case 2: return (Encoding.UTF8.GetBytes(Valid(schema, 0)?.ToJsonString() ?? "{}"), new[] { "application/xml", "application/x-www-form-urlencoded", "multipart/form-data", "text/html; charset=bogus", "application/json; charset=utf-7" }[random.Next(5)], "wrong content type");
                case 3:
                    string json = Valid(schema, 0)?.ToJsonString() ?? "{\"a\":1}";
                    return (Encoding.UTF8.GetBytes(json[..random.Next(json.Length)]), contentType, "truncated json");
                case 4: return (new[] { "{", "}{", "nul", "{\"a\":}", "{\"a\":1,}", "[1,2", "\"unterminated", "{'single':'quotes'}", "\uFEFF", "{\"a\":1}{\"b\":2}" }.Select(Encoding.UTF8.GetBytes).ElementAt(random.Next(10)), contentType, "malformed json");
                case 5: return ([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0xC0, 0xAF, 0x22, 0x7D], contentType, "invalid utf-8");
                case 6: return (Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)), contentType, "10,000 nested arrays");
                case 7: return (Encoding.UTF8.GetBytes(new[] { "[]", "\"text\"", "42", "null", "true", "[{}]" }[random.Next(6)]), contentType, "wrong top-level type");
                case 8: return (Encoding.UTF8.GetBytes("{}"), contentType, "required fields missing");
                default:
                    var node = Valid(schema, 0) as JsonObject ?? new JsonObject();
                    var properties = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var props) ? props.EnumerateObject().ToList() : [];
                    int bad = 1 + random.Next(3);
                    var names = new List<string>();
                    for (int i = 0; i < bad && properties.Count > 0; i++)
                    {
                        var property = properties[random.Next(properties.Count)];
                        node[property.Name] = BadJson(Resolve(property.Value));
                        names.Add(property.Name);
                    }
                    if (random.Next(5) == 0) { node["no_such_field"] = BadJson(default); names.Add("no_such_field"); }
                    string text = node.ToJsonString();
                    return (Encoding.UTF8.GetBytes(text), contentType, $"bad {string.Join(", ", names)}: {(text.Length > 300 ? text[..300] + "…" : text)}");
            }
        }

        private (byte[], string, string) MultipartBody()
        {
            switch (random.Next(5))
            {
                case 0: return ("--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n"u8.ToArray(), "multipart/form-data; boundary=x", "no file part");
                case 1: return ("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--x--\r\n"u8.ToArray(), "multipart/form-data; boundary=x", "empty file name");
                case 2: return ("garbage"u8.ToArray(), "multipart/form-data", "no boundary");
                case 3: return ("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nunterminated"u8.ToArray(), "multipart/form-data; boundary=x", "unterminated part");
                default: return ("{}"u8.ToArray(), "application/json", "json instead of multipart");
            }
        }

        /// <summary>A value of the wrong kind for <paramref name="schema"/>.</summary>
        private JsonNode? BadJson(JsonElement schema)
        {
            string? type = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var candidates = new List<Func<JsonNode?>>
            {
                () => null,
                () => JsonValue.Create(Huge),
                () => JsonValue.Create("\u0000\uFFFF\uD800"),
                () => JsonValue.Create(-1),
                () => JsonValue.Create(long.MaxValue),
                () => JsonValue.Create(1.5e300),
                () => JsonNode.Parse("123456789012345678901234567890"),
                () => new JsonArray(JsonValue.Create("a"), null, new JsonObject()),
                () => new JsonObject { ["nested"] = new JsonObject { ["deeper"] = JsonValue.Create(Huge[..1000]) } },
                () => JsonValue.Create(true),
                () => JsonValue.Create("not-a-" + (type ?? "value")),
                () => new JsonArray(Enumerable.Range(0, 5_000).Select(i => (JsonNode?)JsonValue.Create($"u{i}@example.org")).ToArray()),
            };
            if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("enum", out _)) candidates.Add(() => JsonValue.Create("bogus-enum-value"));
            if (type == "array") candidates.Add(() => new JsonArray(JsonValue.Create(42), new JsonArray(), JsonValue.Create("")));
            return candidates[random.Next(candidates.Count)]();
        }

        /// <summary>A plausible value for <paramref name="schema"/>, to be damaged in one place.</summary>
        private JsonNode? Valid(JsonElement schema, int depth)
        {
            if (schema.ValueKind != JsonValueKind.Object || depth > 4) return JsonValue.Create("x");
            schema = Resolve(schema);
            foreach (string combinator in new[] { "oneOf", "anyOf", "allOf" })
                if (schema.TryGetProperty(combinator, out var options) && options.GetArrayLength() > 0)
                    return Valid(Resolve(options[random.Next(options.GetArrayLength())]), depth + 1);
            if (schema.TryGetProperty("enum", out var values) && values.GetArrayLength() > 0)
                return JsonNode.Parse(values[random.Next(values.GetArrayLength())].GetRawText());
            string? type = schema.TryGetProperty("type", out var t)
                ? t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()).FirstOrDefault(x => x != "null") : t.GetString()
                : schema.TryGetProperty("properties", out _) ? "object" : null;
            switch (type)
            {
                case "object":
                    var node = new JsonObject();
                    if (schema.TryGetProperty("properties", out var props))
                        foreach (var p in props.EnumerateObject())
                            if (random.Next(3) != 0) node[p.Name] = Valid(p.Value, depth + 1);
                    return node;
                case "array":
                    return schema.TryGetProperty("items", out var items) ? new JsonArray(Valid(items, depth + 1)) : new JsonArray();
                case "integer": return JsonValue.Create(1);
                case "number": return JsonValue.Create(1.0);
                case "boolean": return JsonValue.Create(random.Next(2) == 0);
                case "string":
                    string? format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
                    return JsonValue.Create(format switch { "email" => "someone@example.org", "uri" => "https://example.org/hook", _ => "fuzz" });
                default: return JsonValue.Create("x");
            }
        }
    }
}
