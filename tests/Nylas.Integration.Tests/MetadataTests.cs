using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// v2 metadata on messages, threads and events: set by PUT (the v2 SDK's whole echoed object accepted), shown on the
/// objects, filtered by metadata_key / _value / _pair / _search, recorded in the change feed, and bad input refused.
/// </summary>
public class MetadataTests(WritesFixture host) : IClassFixture<WritesFixture>
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> PutAsync(HttpClient http, string path, JsonNode body)
    {
        // As the v2 SDK sends it: a JSON string with text/plain.
        using var response = await http.PutAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<JsonElement> OkAsync(HttpClient http, string path, JsonNode body)
    {
        var (status, answer) = await PutAsync(http, path, body);
        Assert.True(status == HttpStatusCode.OK, $"PUT {path}: {(int)status} {answer}");
        return answer;
    }

    private static JsonObject Meta(params (string Key, string Value)[] pairs)
        => new() { ["metadata"] = new JsonObject(pairs.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))) };

    private static Dictionary<string, string> MetadataOf(JsonElement o)
        => o.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    private static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonElement Body) answer, string mentions)
    {
        Assert.True(answer.Status == expected, $"expected {(int)expected}, got {(int)answer.Status}: {answer.Body}");
        Assert.Equal("invalid_request_error", answer.Body.GetProperty("type").GetString());
        Assert.Contains(mentions, answer.Body.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    private async Task<JsonElement> MessageAsync(HttpClient http, string subject)
        => Assert.Single((await http.GetFromJsonAsync<JsonElement>($"/messages?subject={Uri.EscapeDataString(subject)}")).EnumerateArray());

    /// <summary>The deltas of these objects since the cursor (sync may record other changes meanwhile).</summary>
    private async Task<List<JsonElement>> DeltasOfAsync(HttpClient http, string cursor, params string[] ids)
        => (await host.DeltasSinceAsync(http, cursor)).Where(d => ids.Contains(d.GetProperty("id").GetString())).ToList();

    private static async Task<List<string>> IdsAsync(HttpClient http, string path)
        => (await http.GetFromJsonAsync<List<string>>(path + (path.Contains('?') ? "&" : "?") + "view=ids"))!;

    [Fact]
    public async Task Message_metadata_is_set_shown_filtered_and_in_the_change_feed()
    {
        using var http = host.Client(host.A.Token);
        var message = await MessageAsync(http, "Budget 2027");
        string id = message.GetProperty("id").GetString()!;
        Assert.Empty(MetadataOf(message)); // {} when none
        string cursor = await host.LatestCursorAsync(http);

        // The v2 SDK's message.save(): folder_id, starred, unread (unchanged) and metadata.
        var body = Meta(("case", "4711"), ("Stage", "Review"));
        body["folder_id"] = message.GetProperty("folder").GetProperty("id").GetString();
        body["starred"] = message.GetProperty("starred").GetBoolean();
        body["unread"] = message.GetProperty("unread").GetBoolean();
        var saved = await OkAsync(http, $"/messages/{id}", body);
        Assert.Equal(new Dictionary<string, string> { ["case"] = "4711", ["Stage"] = "Review" }, MetadataOf(saved));
        Assert.Equal(id, saved.GetProperty("id").GetString());
        Assert.Equal(MetadataOf(saved), MetadataOf(await http.GetFromJsonAsync<JsonElement>($"/messages/{id}")));

        // Filters, alone and with the endpoint's own; keys and values compare exactly, metadata_search ignores case.
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_key=case"));
        Assert.Empty(await IdsAsync(http, "/messages?metadata_key=CASE"));
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_key=nope&metadata_key=Stage"));
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_value=4711"));
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_pair=case:4711"));
        Assert.Empty(await IdsAsync(http, "/messages?metadata_pair=case:Review"));
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_search=REVI"));
        Assert.Equal([id], await IdsAsync(http, "/messages?metadata_key=case&from=alice@example.org"));
        Assert.Empty(await IdsAsync(http, "/messages?metadata_key=case&from=carol@example.org"));
        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/messages?metadata_key=case&view=count")).GetProperty("count").GetInt64());
        Assert.Empty(await IdsAsync(http, "/messages?metadata_search=%25")); // % is a character, not a wildcard

        // Recorded as a modify of the message, with the metadata in its attributes.
        var delta = Assert.Single(await DeltasOfAsync(http, cursor, id));
        Assert.Equal(("message", "modify", id), (delta.GetProperty("object").GetString(), delta.GetProperty("event").GetString(), delta.GetProperty("id").GetString()));
        Assert.Equal("4711", delta.GetProperty("attributes").GetProperty("metadata").GetProperty("case").GetString());

        // The whole object echoed back unchanged writes nothing; a PUT replaces the set; {} clears it.
        string afterSave = await host.LatestCursorAsync(http);
        await OkAsync(http, $"/messages/{id}", JsonNode.Parse(saved.GetRawText())!);
        Assert.Empty(await DeltasOfAsync(http, afterSave, id));
        Assert.Equal(new Dictionary<string, string> { ["Stage"] = "Done" }, MetadataOf(await OkAsync(http, $"/messages/{id}", Meta(("Stage", "Done")))));
        Assert.Empty(await IdsAsync(http, "/messages?metadata_key=case"));
        Assert.Empty(MetadataOf(await OkAsync(http, $"/messages/{id}", Meta())));
        // Two updates; a page collapses repeats of one (object, event) to the latest, which shows the metadata now.
        var latest = Assert.Single(await DeltasOfAsync(http, afterSave, id));
        Assert.Empty(latest.GetProperty("attributes").GetProperty("metadata").EnumerateObject());
        // A body without metadata (or with null) leaves it alone.
        await OkAsync(http, $"/messages/{id}", Meta(("kept", "yes")));
        Assert.Equal("yes", MetadataOf(await OkAsync(http, $"/messages/{id}", new JsonObject { ["metadata"] = null }))["kept"]);
        Assert.Equal("yes", MetadataOf(await OkAsync(http, $"/messages/{id}", new JsonObject { ["unread"] = message.GetProperty("unread").GetBoolean() }))["kept"]);
    }

    [Fact]
    public async Task Thread_and_event_metadata_are_their_own_and_filtered_on_their_lists()
    {
        using var http = host.Client(host.A.Token);
        string cursor = await host.LatestCursorAsync(http);
        var thread = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/threads?subject=Signed%20contract")).EnumerateArray());
        string threadId = thread.GetProperty("id").GetString()!;
        Assert.Empty(MetadataOf(thread));
        var saved = await OkAsync(http, $"/threads/{threadId}", Meta(("crm", "deal-9")));
        Assert.Equal("deal-9", MetadataOf(saved)["crm"]);
        Assert.Equal([threadId], await IdsAsync(http, "/threads?metadata_pair=crm:deal-9"));
        Assert.Equal([threadId], await IdsAsync(http, "/threads?metadata_search=DEAL&subject=Signed%20contract"));
        // The thread's metadata is not its messages'.
        Assert.Empty(await IdsAsync(http, "/messages?metadata_key=crm"));
        Assert.Equal("deal-9", MetadataOf(await http.GetFromJsonAsync<JsonElement>($"/threads/{threadId}?view=expanded"))["crm"]);

        var ev = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/events")).EnumerateArray());
        string eventId = ev.GetProperty("id").GetString()!;
        Assert.Empty(MetadataOf(ev));
        // The SDK's event.save() sends the whole event; only metadata is written.
        var eventBody = JsonNode.Parse(ev.GetRawText())!.AsObject();
        eventBody["metadata"] = new JsonObject { ["room-booked"] = "yes" };
        var savedEvent = await OkAsync(http, $"/events/{eventId}", eventBody);
        Assert.Equal("yes", MetadataOf(savedEvent)["room-booked"]);
        Assert.Equal(ev.GetProperty("title").GetString(), savedEvent.GetProperty("title").GetString());
        Assert.Equal([eventId], await IdsAsync(http, "/events?metadata_key=room-booked"));
        Assert.Equal([eventId], await IdsAsync(http, "/events?metadata_value=yes&calendar_id=" + ev.GetProperty("calendar_id").GetString()));
        Assert.Empty(await IdsAsync(http, "/events?metadata_value=no"));
        // The event as its invitation message carries it shows the metadata too.
        string messageId = ev.GetProperty("message_id").GetString()!;
        var carried = Assert.Single((await http.GetFromJsonAsync<JsonElement>($"/messages/{messageId}")).GetProperty("events").EnumerateArray());
        Assert.Equal("yes", MetadataOf(carried)["room-booked"]);

        var deltas = await DeltasOfAsync(http, cursor, threadId, eventId);
        Assert.Equal([("thread", threadId), ("event", eventId)],
            deltas.Select(d => (d.GetProperty("object").GetString()!, d.GetProperty("id").GetString()!)));
        Assert.All(deltas, d => Assert.Equal("modify", d.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task Bad_write_fields_are_refused_and_nothing_is_written()
    {
        using var http = host.Client(host.A.Token);
        var message = await MessageAsync(http, "Re: Budget 2027");
        string id = message.GetProperty("id").GetString()!;
        string cursor = await host.LatestCursorAsync(http);
        bool unread = message.GetProperty("unread").GetBoolean();

        // unread, starred and folder_id are written through syncback (SyncbackTests); a bad one refuses the whole body.
        JsonObject With(string field, JsonNode value) { var body = Meta(("x", "1")); body[field] = value; return body; }
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, $"/messages/{id}", With("label_ids", new JsonArray("abc"))), "label_ids");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, $"/messages/{id}", With("unread", "yes")), "unread");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, $"/messages/{id}", With("folder_id", "0000000000000000000000000")), "folder");
        var threadId = message.GetProperty("thread_id").GetString()!;
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, $"/threads/{threadId}", With("starred", 1)), "starred");

        // Quirk 4/5 of the SDK: "" as folder_id and [] as label_ids on a folder account are no change.
        await OkAsync(http, $"/messages/{id}", new JsonObject { ["folder_id"] = "", ["label_ids"] = new JsonArray(), ["unread"] = unread });

        Assert.Empty(MetadataOf(await http.GetFromJsonAsync<JsonElement>($"/messages/{id}")));
        Assert.Empty(await DeltasOfAsync(http, cursor, id, threadId));
    }

    [Fact]
    public async Task Bad_metadata_and_unknown_or_foreign_ids_are_refused_with_a_json_error()
    {
        using var http = host.Client(host.A.Token);
        using var other = host.Client(host.B.Token);
        string id = (await MessageAsync(http, "Signed contract")).GetProperty("id").GetString()!;
        string path = $"/messages/{id}";

        // v2's limits, at and over them.
        var fifty = Enumerable.Range(0, 50).Select(i => ($"k{i}", "v")).ToArray();
        Assert.Equal(50, MetadataOf(await OkAsync(http, path, Meta(fifty))).Count);
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, Meta([.. fifty, ("k50", "v")])), "51 keys");
        Assert.Single(MetadataOf(await OkAsync(http, path, Meta((new string('k', 40), new string('é', 500))))));
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, Meta((new string('k', 41), "v"))), "at most 40");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, Meta(("long", new string('v', 501)))), "metadata.long");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, new JsonObject { ["metadata"] = new JsonObject { ["n"] = 5 } }), "metadata.n");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, new JsonObject { ["metadata"] = new JsonObject { ["o"] = new JsonObject { ["deep"] = "x" } } }), "metadata.o");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, new JsonObject { ["metadata"] = new JsonArray("a") }), "metadata");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, path, Meta(("", "v"))), "empty");
        using (var notJson = await http.PutAsync(path, new StringContent("metadata=1", Encoding.UTF8, "text/plain")))
            await ApiErrors.AssertAsync(notJson, HttpStatusCode.BadRequest);
        // What was refused left the last good metadata in place.
        Assert.Equal(new string('é', 500), MetadataOf(await http.GetFromJsonAsync<JsonElement>(path))[new string('k', 40)]);

        AssertError(HttpStatusCode.NotFound, await PutAsync(other, path, Meta(("a", "b"))), id);
        AssertError(HttpStatusCode.NotFound, await PutAsync(http, "/messages/0000000000000000000000000", Meta(("a", "b"))), "0000000000000000000000000");
        AssertError(HttpStatusCode.NotFound, await PutAsync(http, "/threads/0000000000000000000000000", Meta(("a", "b"))), "thread");
        AssertError(HttpStatusCode.NotFound, await PutAsync(http, "/events/0000000000000000000000000", Meta(("a", "b"))), "event");
        AssertError(HttpStatusCode.BadRequest, await PutAsync(http, "/messages/bad!id", Meta(("a", "b"))), "invalid message id");
        Assert.Empty(await IdsAsync(other, "/messages?metadata_key=" + new string('k', 40)));

        foreach (string query in new[] { "metadata_pair=nocolon", "metadata_pair=:v", "metadata_search=", "metadata_key=" })
            using (var response = await http.GetAsync($"/messages?{query}"))
                await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        using (var events = await http.GetAsync("/events?metadata_pair=nocolon"))
            await ApiErrors.AssertAsync(events, HttpStatusCode.BadRequest);
    }
}
