using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Nylas.Engine;
using Nylas.Engine.Storage;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The change log's cursor: a reader racing concurrent writers never skips a change, and retention never hides a gap.</summary>
public sealed class ChangeFeedTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    private ShardDirectory Shards => host.App.Services.GetRequiredService<ShardDirectory>();
    private ChangeFeed Feed => host.App.Services.GetRequiredService<ChangeFeed>();

    [Fact]
    public async Task A_reader_racing_writers_sees_every_committed_change_once_in_order()
    {
        long account = Random.Shared.NextInt64(1_000_000, 2_000_000);
        var committed = new System.Collections.Concurrent.ConcurrentBag<string>();
        int writersDone = 0;

        // Transactions that stay open for a random while after appending commit out of the order they appended in:
        // exactly what made an AUTO_INCREMENT id an unsafe cursor.
        async Task WriterAsync(int writer)
        {
            for (int i = 0; i < 30; i++)
            {
                await using var connection = await Shards.Shard(0).OpenConnectionAsync();
                await using var tx = await connection.BeginTransactionAsync();
                var ids = Enumerable.Range(0, 1 + Random.Shared.Next(3)).Select(n => $"w{writer}-{i}-{n}").ToList();
                foreach (string id in ids)
                    await ChangeLog.AppendAsync(connection, tx, account, "message", id, "insert", TimeProvider.System, default);
                await Task.Delay(Random.Shared.Next(0, 12));
                if (i % 7 == 3)
                {
                    await tx.RollbackAsync(); // a failed change leaves no entry and no hole
                    continue;
                }
                await tx.CommitAsync();
                foreach (string id in ids) committed.Add(id);
            }
            Interlocked.Increment(ref writersDone);
        }

        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(() => WriterAsync(w))).ToList();
        var seen = new List<ChangeEntry>();
        long position = 0;
        while (true)
        {
            bool finished = Volatile.Read(ref writersDone) == writers.Count;
            var page = await Feed.ReadAsync(0, account, position, 17, default);
            foreach (var entry in page.Entries)
            {
                Assert.Equal(position + 1, entry.Seq); // no gap, ever, at the moment of reading
                position = entry.Seq;
                seen.Add(entry);
            }
            if (finished && page.Entries.Count == 0) break;
        }
        await Task.WhenAll(writers);

        Assert.Equal(committed.Order(StringComparer.Ordinal), seen.Select(e => e.ObjectPublicId).Order(StringComparer.Ordinal));
        Assert.Equal(seen.Count, await Feed.LatestSeqAsync(0, account, default));
    }

    [Fact]
    public async Task Retention_purges_old_entries_and_a_cursor_from_before_the_purge_is_refused()
    {
        long account = Random.Shared.NextInt64(2_000_000, 3_000_000);
        await using (var connection = await Shards.Shard(0).OpenConnectionAsync())
        {
            await using var tx = await connection.BeginTransactionAsync();
            for (int i = 0; i < 5; i++)
                await ChangeLog.AppendAsync(connection, tx, account, "contact", $"c{i}", "insert", TimeProvider.System, default);
            await tx.CommitAsync();
            // The first three are older than the retention.
            int days = host.App.Services.GetRequiredService<IOptions<NylasOptions>>().Value.ChangeLog.RetentionDays;
            await using var age = new MySqlCommand($"UPDATE transactions SET created_at = created_at - INTERVAL {days + 1} DAY WHERE account_id = {account} AND seq <= 3", connection);
            await age.ExecuteNonQueryAsync();
        }

        int purged = await host.App.Services.GetRequiredService<ChangeLogPurge>().RunAsync(default);
        Assert.True(purged >= 3, $"purged {purged}");

        var expired = await Assert.ThrowsAsync<ChangeLogExpiredException>(() => Feed.ReadAsync(0, account, 0, 100, default));
        Assert.Equal(3, expired.PurgedThrough);
        await Assert.ThrowsAsync<ChangeLogExpiredException>(() => Feed.ReadAsync(0, account, 2, 100, default));
        // From the watermark on, nothing is missing.
        var page = await Feed.ReadAsync(0, account, 3, 100, default);
        Assert.Equal([4L, 5L], page.Entries.Select(e => e.Seq));
    }
}
