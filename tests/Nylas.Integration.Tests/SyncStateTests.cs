using Nylas.Engine.Accounts;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The changes between sync states that the SQL applies (SyncStates.Of): what may change what.</summary>
public class SyncStateTests
{
    private static readonly SyncStateChange[] Changes = Enum.GetValues<SyncStateChange>();

    [Fact]
    public void Only_a_deletion_or_new_credentials_change_an_account_being_deleted()
    {
        var fromDeleting = Changes.Where(c => SyncStates.Of(c).From.Contains(SyncStates.Deleting)).Order().ToList();
        Assert.Equal([SyncStateChange.CredentialsStored, SyncStateChange.DeletionStarted], fromDeleting);
    }

    [Theory]
    [InlineData(SyncStates.Running, SyncStates.Running)]
    [InlineData(SyncStates.Partial, SyncStates.Partial)]
    [InlineData(SyncStates.SyncError, SyncStates.SyncError)]
    [InlineData(SyncStates.InvalidCredentials, SyncStates.InvalidCredentials)]
    public void What_sync_reports_never_overrides_a_stop_or_a_deletion(string reported, string to)
    {
        var transition = SyncStates.Of(SyncStates.ReportedBySync(reported));
        Assert.Equal(to, transition.To);
        Assert.DoesNotContain(SyncStates.Stopped, transition.From);
        Assert.DoesNotContain(SyncStates.Deleting, transition.From);
    }

    [Fact]
    public void A_stopped_account_resumes_only_by_an_upgrade_new_credentials_or_ends_by_a_deletion()
    {
        var fromStopped = Changes.Where(c => SyncStates.Of(c).From.Contains(SyncStates.Stopped)).Order().ToList();
        Assert.Equal([SyncStateChange.CredentialsStored, SyncStateChange.Downgraded, SyncStateChange.Upgraded, SyncStateChange.DeletionStarted], fromStopped);
    }

    [Fact]
    public void Sync_reports_only_its_own_four_states()
        => Assert.Throws<ArgumentException>(() => SyncStates.ReportedBySync(SyncStates.Stopped));
}
