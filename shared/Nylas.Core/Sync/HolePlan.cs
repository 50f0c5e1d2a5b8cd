namespace Nylas.Core.Sync;

/// <summary>A UID the server holds within a folder's synced range and the mirror lacks, as recorded.</summary>
/// <param name="Attempts">How often it was fetched again (or left out of a FETCH answer); 0 while its first ingest may still be queued.</param>
public readonly record struct Hole(uint Uid, DateTimeOffset FirstMissingAt, int Attempts, DateTimeOffset RetryAt);

/// <summary>
/// What one sync pass does about a folder's holes: record the new ones, forget the ones that healed (ingested, or gone
/// from the server), and fetch again those whose wait is over. A new hole waits for <c>grace</c> first, since its
/// ingest is normally just queued; a hole fetched again that stays missing waits twice as long each time, up to a
/// maximum (quarantined, retried later), so one message that never ingests costs little and is never given up.
/// </summary>
/// <param name="Found">Missing now and not recorded yet.</param>
/// <param name="Healed">Recorded, within the range compared, and no longer missing.</param>
/// <param name="Due">Missing, and their wait is over: fetch them again.</param>
/// <param name="Waiting">Missing and not fetched again yet, so possibly still queued for their first ingest.</param>
public sealed record HolePlan(IReadOnlyList<uint> Found, IReadOnlyList<uint> Healed, IReadOnlyList<Hole> Due, int Waiting)
{
    /// <param name="missing">The folder's missing UIDs now (<see cref="MirrorDiff.Missing"/>).</param>
    /// <param name="recorded">The folder's recorded holes.</param>
    /// <param name="comparedLow">The range compared this pass is (comparedLow, comparedHigh]: holes outside it are left alone.</param>
    public static HolePlan Create(IReadOnlyCollection<uint> missing, IReadOnlyDictionary<uint, Hole> recorded, uint comparedLow, uint comparedHigh, DateTimeOffset now)
    {
        var missingSet = missing as IReadOnlySet<uint> ?? missing.ToHashSet();
        var found = missing.Where(uid => !recorded.ContainsKey(uid)).Order().ToList();
        var healed = recorded.Keys.Where(uid => uid > comparedLow && uid <= comparedHigh && !missingSet.Contains(uid)).Order().ToList();
        var due = recorded.Values.Where(h => missingSet.Contains(h.Uid) && h.RetryAt <= now).OrderBy(h => h.Uid).ToList();
        int waiting = found.Count + recorded.Values.Count(h => missingSet.Contains(h.Uid) && h.Attempts == 0 && h.RetryAt > now);
        return new HolePlan(found, healed, due, waiting);
    }

    /// <summary>The wait after the <paramref name="attempts"/>-th fetch that left the UID missing: the grace, doubled each time, at most <paramref name="max"/>.</summary>
    public static TimeSpan RetryWait(int attempts, TimeSpan grace, TimeSpan max)
    {
        double factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(max.Ticks, grace.Ticks * factor));
    }
}
