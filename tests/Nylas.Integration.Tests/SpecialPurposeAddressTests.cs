using System.Net;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Xunit;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Integration.Tests;

/// <summary>
/// The guard's address table against the IANA special-purpose registries, written out by hand here (not derived
/// from the guard's table): the first, last and an inner address of every refused block, and the public
/// addresses right outside them. No server needed.
/// </summary>
public class SpecialPurposeAddressTests
{
    /// <summary>Block, first, last, inside.</summary>
    public static TheoryData<string, string, string, string> RefusedBlocks => new()
    {
        { "0.0.0.0/8", "0.0.0.0", "0.255.255.255", "0.1.2.3" },
        { "10.0.0.0/8", "10.0.0.0", "10.255.255.255", "10.1.2.3" },
        { "100.64.0.0/10", "100.64.0.0", "100.127.255.255", "100.100.1.1" },
        { "127.0.0.0/8", "127.0.0.0", "127.255.255.255", "127.0.0.1" },
        { "169.254.0.0/16", "169.254.0.0", "169.254.255.255", "169.254.169.254" },
        { "172.16.0.0/12", "172.16.0.0", "172.31.255.255", "172.20.1.1" },
        { "192.0.0.0/24", "192.0.0.0", "192.0.0.255", "192.0.0.170" },
        { "192.0.2.0/24", "192.0.2.0", "192.0.2.255", "192.0.2.10" },
        { "192.88.99.0/24", "192.88.99.0", "192.88.99.255", "192.88.99.1" },
        { "192.168.0.0/16", "192.168.0.0", "192.168.255.255", "192.168.1.1" },
        { "198.18.0.0/15", "198.18.0.0", "198.19.255.255", "198.18.200.7" },
        { "198.51.100.0/24", "198.51.100.0", "198.51.100.255", "198.51.100.50" },
        { "203.0.113.0/24", "203.0.113.0", "203.0.113.255", "203.0.113.9" },
        { "224.0.0.0/4", "224.0.0.0", "239.255.255.255", "224.0.0.251" },
        { "240.0.0.0/4", "240.0.0.0", "255.255.255.255", "250.1.2.3" },
        { "168.63.129.16/32", "168.63.129.16", "168.63.129.16", "168.63.129.16" },
        { "::/96 (unspecified, loopback, IPv4-compatible)", "::", "::255.255.255.255", "::1" },
        { "::ffff:0:0/96 over a private IPv4 address", "::ffff:10.0.0.0", "::ffff:10.255.255.255", "::ffff:127.0.0.1" },
        { "64:ff9b::/96 over a private IPv4 address", "64:ff9b::a00:0", "64:ff9b::c0a8:ffff", "64:ff9b::a9fe:a9fe" },
        { "64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::808:808" },
        { "100::/64", "100::", "100::ffff:ffff:ffff:ffff", "100::1" },
        { "100:0:0:1::/64", "100:0:0:1::", "100::1:ffff:ffff:ffff:ffff", "100::1:0:0:1" },
        { "2001::/32 (Teredo)", "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2001:0:4136:e378:8000:63bf:3fff:fdd2" },
        { "2001::/23", "2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:2::1" },
        { "2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::25" },
        { "2002::/16", "2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002:808:808::1" },
        { "3fff::/20", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1::1" },
        { "fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00:ec2::254" },
        { "fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1" },
        { "fec0::/10 (deprecated site-local)", "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::1" },
        { "ff00::/8", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff02::1" },
        { "5f00::/16", "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f00:1::1" },
        { "::/3, outside global unicast", "::", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1:0:0:0" },
        { "4000::/2, outside global unicast", "4000::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "6000::1" },
        { "8000::/1, outside global unicast", "8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "c000::1" },
    };

    [Theory]
    [MemberData(nameof(RefusedBlocks))]
    public void Every_address_of_a_block_that_is_not_globally_reachable_is_refused(string block, string first, string last, string inside)
    {
        foreach (string address in new[] { first, last, inside })
            Assert.True(ConnectTargetGuard.IsPrivate(IPAddress.Parse(address)), $"{address} ({block}) was allowed");
    }

    [Theory]
    // Right outside the refused blocks.
    [InlineData("1.0.0.0")]
    [InlineData("9.255.255.255")]
    [InlineData("11.0.0.0")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("126.255.255.255")]
    [InlineData("128.0.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("169.255.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("191.255.255.255")]
    [InlineData("192.0.1.0")]
    [InlineData("192.0.3.0")]
    [InlineData("192.88.98.255")]
    [InlineData("192.88.100.0")]
    [InlineData("192.167.255.255")]
    [InlineData("192.169.0.0")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("198.51.99.255")]
    [InlineData("198.51.101.0")]
    [InlineData("203.0.112.255")]
    [InlineData("203.0.114.0")]
    [InlineData("223.255.255.255")]
    [InlineData("168.63.129.15")]
    [InlineData("168.63.129.17")]
    // Special-purpose blocks the registry marks globally reachable: AS112 and AMT.
    [InlineData("192.31.196.1")]
    [InlineData("192.52.193.1")]
    [InlineData("192.175.48.1")]
    [InlineData("2620:4f:8000::1")]
    // Public resolvers and mail hosts, in both families and through IPv4-mapped and NAT64 addresses.
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("64:ff9b::101:101")]
    // Right outside the IPv6 blocks, within global unicast 2000::/3.
    [InlineData("2000::1")]
    [InlineData("2001:200::1")]
    [InlineData("2001:db7:ffff::1")]
    [InlineData("2001:db9::1")]
    [InlineData("2001:ffff::1")]
    [InlineData("2003::1")]
    [InlineData("3ffe:ffff::1")]
    [InlineData("3fff:1000::1")]
    public void Public_neighbours_stay_allowed(string address)
        => Assert.False(ConnectTargetGuard.IsPrivate(IPAddress.Parse(address)), $"{address} was refused");

    [Fact]
    public void Every_range_in_the_guards_table_is_covered_by_the_table_above()
    {
        // A range added to the guard without a row here would be untested.
        var listed = RefusedBlocks.Select(row => IPAddress.Parse((string)row[1])).ToList();
        foreach (var range in ConnectTargetGuard.RefusedRanges)
            Assert.True(listed.Any(range.Network.Contains), $"{range.Network} ({range.Name}) has no row in RefusedBlocks");
    }

    [Theory]
    [InlineData("10.20.3.4", null)]
    [InlineData("::ffff:10.20.3.4", null)]
    [InlineData("64:ff9b::a14:304", null)]
    [InlineData("fd00:1::5", null)]
    [InlineData("10.21.0.1", "10.21.0.1")]
    [InlineData("198.18.0.1", "198.18.0.1")]
    [InlineData("8.8.8.8", null)]
    public async Task AllowedPrivateNetworks_still_overrides_the_table(string imapHost, string? refusedAddress)
    {
        var options = new NylasOptions();
        options.Connect.RefusePrivateNetworks = true;
        options.Connect.AllowedPrivateNetworks = "10.20.0.0/16, fd00:1::/64";
        var guard = new ConnectTargetGuard(Options.Create(options));
        var request = new ConnectRequest("a@example.org", "", "imap", new ImapServer(imapHost, 993, ImapSecurity.Ssl, "a@example.org", null),
            new AccountSecrets("password"));
        string? refusal = await guard.CheckAsync(request, default);
        if (refusedAddress is null) Assert.Null(refusal);
        else Assert.Contains($"'{refusedAddress}' is not a public address", refusal);
    }
}
