import Foundation
import LaurelShared
import SwiftProtobuf

extension Laurel_V1_Program {
    init(_ program: Program) {
        let rules = program.rules
        self = .with {
            $0.version = program.version
            $0.updatedAt = .init(program.updatedAt)
            $0.earn = .with {
                $0.defaultPointsPerUnit = rules.earn.defaultPointsPerUnit
                $0.rates = rules.earn.rates.map { rate in
                    .with {
                        $0.currencyCode = rate.currencyCode
                        $0.pointsPerUnit = rate.pointsPerUnit
                        $0.minimumOrderMinor = rate.minimumOrderMinor
                    }
                }
                $0.categoryMultipliers = rules.earn.categoryMultipliers.map(Laurel_V1_Multiplier.init)
                $0.skuMultipliers = rules.earn.skuMultipliers.map(Laurel_V1_Multiplier.init)
                $0.excludedSkus = rules.earn.excludedSkus
                $0.dailyCap = rules.earn.dailyCap
                $0.weeklyCap = rules.earn.weeklyCap
                $0.monthlyCap = rules.earn.monthlyCap
            }
            $0.tiers = .with {
                $0.basis = .init(rules.tiers.basis)
                $0.spendCurrency = rules.tiers.spendCurrency
                $0.windowDays = Int32(rules.tiers.windowDays)
                $0.tiers = rules.tiers.tiers.map { tier in
                    .with {
                        $0.code = tier.code
                        $0.name = tier.name
                        $0.threshold = tier.threshold
                        $0.earnMultiplierPercent = Int32(tier.earnMultiplierPercent)
                        $0.cashbackBasisPoints = Int32(tier.cashbackBasisPoints)
                    }
                }
            }
            $0.bonuses = .with {
                $0.enrolmentPoints = rules.bonuses.enrolmentPoints
                $0.birthdayPoints = rules.bonuses.birthdayPoints
            }
            $0.referrals = .with {
                $0.referrerPoints = rules.referrals.referrerPoints
                $0.refereePoints = rules.referrals.refereePoints
            }
            if let value = rules.pointValue {
                $0.pointValue = .with {
                    $0.currencyCode = value.currencyCode
                    $0.minorUnitsPer1000Points = value.minorUnitsPer1000Points
                }
            }
        }
    }

    /// The rules it describes; range checks are the domain's.
    var rules: ProgramRules {
        get throws(InvalidArgument) {
            ProgramRules(
                earn: EarnRules(
                    defaultPointsPerUnit: earn.defaultPointsPerUnit,
                    rates: earn.rates.map {
                        CurrencyRate(currencyCode: $0.currencyCode, pointsPerUnit: $0.pointsPerUnit, minimumOrderMinor: $0.minimumOrderMinor)
                    },
                    categoryMultipliers: earn.categoryMultipliers.map { Multiplier(match: $0.match, percent: Int($0.multiplierPercent)) },
                    skuMultipliers: earn.skuMultipliers.map { Multiplier(match: $0.match, percent: Int($0.multiplierPercent)) },
                    excludedSkus: earn.excludedSkus, dailyCap: earn.dailyCap, weeklyCap: earn.weeklyCap, monthlyCap: earn.monthlyCap),
                tiers: TierRules(
                    basis: try TierBasis(tiers.basis, field: "program.tiers.basis"), spendCurrency: tiers.spendCurrency,
                    windowDays: Int(tiers.windowDays),
                    tiers: tiers.tiers.map {
                        TierDefinition(
                            code: $0.code, name: $0.name, threshold: $0.threshold, earnMultiplierPercent: Int($0.earnMultiplierPercent),
                            cashbackBasisPoints: Int($0.cashbackBasisPoints))
                    }),
                bonuses: Bonuses(enrolmentPoints: bonuses.enrolmentPoints, birthdayPoints: bonuses.birthdayPoints),
                referrals: ReferralRules(referrerPoints: referrals.referrerPoints, refereePoints: referrals.refereePoints),
                pointValue: hasPointValue
                    ? PointValue(currencyCode: pointValue.currencyCode, minorUnitsPer1000Points: pointValue.minorUnitsPer1000Points) : nil)
        }
    }
}

extension Laurel_V1_Multiplier {
    init(_ multiplier: Multiplier) {
        self = .with {
            $0.match = multiplier.match
            $0.multiplierPercent = Int32(multiplier.percent)
        }
    }
}

extension Laurel_V1_TierBasis {
    init(_ basis: TierBasis) {
        switch basis {
        case .manual: self = .unspecified
        case .qualifyingPoints: self = .qualifyingPoints
        case .spend: self = .spend
        }
    }
}

extension TierBasis {
    init(_ basis: Laurel_V1_TierBasis, field: String) throws(InvalidArgument) {
        switch basis {
        case .unspecified: self = .manual
        case .qualifyingPoints: self = .qualifyingPoints
        case .spend: self = .spend
        case .UNRECOGNIZED(let value): throw InvalidArgument(field, "must be a known basis, got \(value)")
        }
    }
}

extension Laurel_V1_Campaign {
    init(_ campaign: Campaign, now: Instant) {
        self = .with {
            $0.campaignID = campaign.id
            $0.name = campaign.name
            $0.startsAt = .init(campaign.startsAt)
            $0.endsAt = .init(campaign.endsAt)
            switch campaign.reward {
            case .multiplier(let percent): $0.multiplierPercent = Int32(percent)
            case .bonus(let points): $0.bonusPoints = points
            }
            $0.target = .with {
                $0.tiers = campaign.target.tiers
                $0.attributes = campaign.target.attributes
                if let from = campaign.target.enrolledFrom { $0.enrolledFrom = .init(from) }
                if let before = campaign.target.enrolledBefore { $0.enrolledBefore = .init(before) }
                $0.skus = campaign.target.skus
                $0.categories = campaign.target.categories
            }
            $0.status = .init(campaign.status(at: now))
            if let endedAt = campaign.endedAt { $0.endedAt = .init(endedAt) }
            $0.createdAt = .init(campaign.createdAt)
        }
    }

    var domain: Campaign {
        get throws(InvalidArgument) {
            guard hasStartsAt else { throw InvalidArgument("campaign.starts_at", "is required") }
            guard hasEndsAt else { throw InvalidArgument("campaign.ends_at", "is required") }
            let reward: CampaignReward
            switch self.reward {
            case .multiplierPercent(let percent): reward = .multiplier(percent: Int(percent))
            case .bonusPoints(let points): reward = .bonus(points: points)
            case nil: throw InvalidArgument("campaign.reward", "set multiplier_percent or bonus_points")
            }
            return Campaign(
                id: campaignID, name: name,
                startsAt: try startsAt.validatedInstant(field: "campaign.starts_at"),
                endsAt: try endsAt.validatedInstant(field: "campaign.ends_at"),
                reward: reward,
                target: CampaignTarget(
                    tiers: target.tiers, attributes: target.attributes,
                    enrolledFrom: target.hasEnrolledFrom ? try target.enrolledFrom.validatedInstant(field: "campaign.target.enrolled_from") : nil,
                    enrolledBefore: target.hasEnrolledBefore
                        ? try target.enrolledBefore.validatedInstant(field: "campaign.target.enrolled_before") : nil,
                    skus: target.skus, categories: target.categories))
        }
    }
}

extension Laurel_V1_CampaignStatus {
    init(_ status: CampaignStatus) {
        switch status {
        case .scheduled: self = .scheduled
        case .active: self = .active
        case .ended: self = .ended
        }
    }
}
