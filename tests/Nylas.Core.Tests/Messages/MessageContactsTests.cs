using Nylas.Core.Messages;
using Xunit;

namespace Nylas.Core.Tests.Messages;

public class MessageContactsTests
{
    [Fact]
    public void Contacts_are_distinct_by_normalized_address_with_the_best_name()
    {
        var message = new ParsedMessage
        {
            From = [new Participant("", " Ann@Example.COM ")],
            ReplyTo = [new Participant("ann@example.com", "ann@example.com")],
            To = [new Participant("Ann Smith", "ann@example.com"), new Participant("\"Bob\"", "bob@example.com"), new Participant("", "")],
            Cc = [new Participant("Robert", "BOB@example.com"), new Participant("Nobody", "not-an-address"), new Participant("X", "a@b@c")],
            Bcc = [new Participant("", "carol@example.org"), new Participant("Bad", "has space@example.org"), new Participant("Dots", "d@example..org")],
        };

        var contacts = MessageContacts.From(message);

        Assert.Equal(
            [new ContactCandidate("ann@example.com", "Ann Smith"), new ContactCandidate("bob@example.com", "Bob"), new ContactCandidate("carol@example.org", "")],
            contacts);
    }

    [Theory]
    [InlineData(" <Mixed.Case@Example.com> ", "mixed.case@example.com")]
    [InlineData("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk")]
    [InlineData("", null)]
    [InlineData("Array", null)]
    [InlineData("@example.com", null)]
    [InlineData("user@", null)]
    [InlineData("user@.example.com", null)]
    public void Addresses_are_normalized_or_rejected(string input, string? expected)
        => Assert.Equal(expected, MessageContacts.NormalizeAddress(input));
}
