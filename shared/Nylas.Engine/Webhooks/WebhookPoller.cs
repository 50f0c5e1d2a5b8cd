using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Webhooks;

/// <summary>
/// Notices accounts whose change log grew (<see cref="ChangeFeed.AccountsChangedSinceAsync"/>) and queues delivery
/// work for the subscriptions behind on them, plus retries whose backoff ended. Runs in every host process: each
/// shard is polled under its webhook_poll_state row taken FOR UPDATE SKIP LOCKED, so one process polls a shard at a
/// time, and a pair is queued only by whoever marks it queued (<see cref="WebhookPositions"/>).
/// </summary>
public sealed partial class WebhookPoller(
    ShardDirectory shards,
    ChangeFeed changes,
    WebhookPositions positions,
    WebhookStore store,
    IWebhookQueue queue,
    IOptions<NylasOptions> options,
    TimeProvider clock,
    ILogger<WebhookPoller> logger) : BackgroundService
{
    /// <summary>
    /// Each poll looks this far behind the last one: a change is stamped when its transaction writes it, and may
    /// commit (become visible) a little later. A pair already up to date costs one comparison.
    /// </summary>
    private static readonly TimeSpan Overlap = TimeSpan.FromSeconds(30);

    private DateTime _lastPurge = DateTime.MinValue;
    private readonly HashSet<int> _shardRows = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.Webhooks.PollMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                LogPollFailed(ex);
            }
            await Task.Delay(interval, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One round: (hourly) the delivery log's retention, then every shard this process gets, then the due retries.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (now - _lastPurge > TimeSpan.FromHours(1))
        {
            _lastPurge = now;
            await store.PurgeLogAsync(now.AddDays(-options.Value.Webhooks.DeliveryLogDays), cancellationToken);
        }
        // Most deployments (and test hosts) have no subscription: then a poll is this one indexed query.
        if (!await store.AnyDeliveringAsync(cancellationToken)) return;

        foreach (int shard in shards.ShardIds)
            await PollShardAsync(shard, cancellationToken);

        var due = await positions.ClaimDueAsync(500, cancellationToken);
        if (due.Count > 0) await queue.EnqueueAsync(due, cancellationToken);
    }

    private async Task PollShardAsync(int shard, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        if (!_shardRows.Contains(shard))
        {
            await using var ensure = new MySqlCommand("INSERT IGNORE INTO webhook_poll_state (shard_id, polled_until) VALUES (@s, @now)", connection);
            ensure.Parameters.AddWithValue("@s", shard);
            ensure.Parameters.AddWithValue("@now", now - Overlap);
            await ensure.ExecuteNonQueryAsync(cancellationToken);
            _shardRows.Add(shard);
        }
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        DateTime polledUntil;
        await using (var take = new MySqlCommand("SELECT polled_until FROM webhook_poll_state WHERE shard_id = @s FOR UPDATE SKIP LOCKED", connection, tx))
        {
            take.Parameters.AddWithValue("@s", shard);
            if (await take.ExecuteScalarAsync(cancellationToken) is not DateTime until) return; // another process is polling this shard
            polledUntil = until;
        }

        var changed = await changes.AccountsChangedSinceAsync(shard, polledUntil - Overlap, cancellationToken);
        if (changed.Count > 0)
        {
            var work = await positions.ClaimBehindAsync([.. changed.Select(c => (c.AccountId, shard, c.LatestSeq))], cancellationToken);
            if (work.Count > 0) await queue.EnqueueAsync(work, cancellationToken);
        }
        await using (var advance = new MySqlCommand("UPDATE webhook_poll_state SET polled_until = @now WHERE shard_id = @s", connection, tx))
        {
            advance.Parameters.AddWithValue("@s", shard);
            advance.Parameters.AddWithValue("@now", now);
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "Webhook poll failed; retrying")]
    private partial void LogPollFailed(Exception ex);
}
